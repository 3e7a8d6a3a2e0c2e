import * as Either from "effect/Either"
import { DependencyCycle, DuplicateComponent, type RegistrationError, UnknownDependency } from "../ComponentError.js"

/** @internal */
export interface Declaration {
  readonly id: string
  readonly dependencies: ReadonlyArray<string>
}

/**
 * Validates a batch of declarations against the registered ids and returns the batch in a topological order
 * (dependencies first, otherwise in batch order). Duplicates, unknown ids, self-dependencies and cycles are errors;
 * a cycle is reported with its path, first element repeated at the end.
 *
 * @internal
 */
export const orderBatch = <D extends Declaration>(
  registered: ReadonlyMap<string, unknown>,
  batch: ReadonlyArray<D>
): Either.Either<ReadonlyArray<D>, RegistrationError> => {
  const byId = new Map<string, D>()
  for (const declaration of batch) {
    if (registered.has(declaration.id) || byId.has(declaration.id)) {
      return Either.left(new DuplicateComponent({ component: declaration.id }))
    }
    byId.set(declaration.id, declaration)
  }
  for (const declaration of batch) {
    for (const dependency of declaration.dependencies) {
      if (dependency === declaration.id) return Either.left(new DependencyCycle({ path: [dependency, dependency] }))
      if (!registered.has(dependency) && !byId.has(dependency)) {
        return Either.left(new UnknownDependency({ component: declaration.id, dependency }))
      }
    }
  }
  // depth-first post-order over the batch: dependencies before dependents, ties in batch order
  const order: Array<D> = []
  const done = new Set<string>()
  const onPath = new Map<string, number>()
  const path: Array<string> = []
  const visit = (declaration: D): DependencyCycle | undefined => {
    onPath.set(declaration.id, path.length)
    path.push(declaration.id)
    for (const dependency of declaration.dependencies) {
      const next = byId.get(dependency)
      if (next === undefined || done.has(dependency)) continue
      const at = onPath.get(dependency)
      if (at !== undefined) return new DependencyCycle({ path: [...path.slice(at), dependency] })
      const cycle = visit(next)
      if (cycle !== undefined) return cycle
    }
    path.pop()
    onPath.delete(declaration.id)
    done.add(declaration.id)
    order.push(declaration)
    return undefined
  }
  for (const declaration of batch) {
    if (done.has(declaration.id)) continue
    const cycle = visit(declaration)
    if (cycle !== undefined) return Either.left(cycle)
  }
  return Either.right(order)
}

/**
 * The transitive dependents of `id` among `ids` (a start order), in that order.
 *
 * @internal
 */
export const transitiveDependents = (
  id: string,
  ids: ReadonlyArray<string>,
  dependenciesOf: (id: string) => ReadonlyArray<string>
): ReadonlyArray<string> => {
  const reached = new Set<string>([id])
  const result: Array<string> = []
  // in a start order every dependent comes after its dependencies, so one pass suffices
  for (const candidate of ids) {
    if (candidate === id) continue
    if (dependenciesOf(candidate).some((dependency) => reached.has(dependency))) {
      reached.add(candidate)
      result.push(candidate)
    }
  }
  return result
}
