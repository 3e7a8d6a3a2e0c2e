import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"

/**
 * The `Inspectable` and `Pipeable` parts shared by the coordinator's model classes: each states its `toJSON` (an
 * `_id` and its stats), and `toString`, Node's inspection and `pipe` follow from it.
 *
 * @internal
 */
export abstract class Model implements Inspectable.Inspectable, Pipeable {
  abstract toJSON(): unknown
  toString(): string {
    return Inspectable.format(this.toJSON())
  }
  [Inspectable.NodeInspectSymbol](): unknown {
    return this.toJSON()
  }
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}
