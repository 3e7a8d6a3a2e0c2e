/**
 * Entry point of `pnpm bench`: runs the command line (see `Cli`) with the process's arguments and exits with its code.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Cli from "./Cli.js"

process.exitCode = await Effect.runPromise(Cli.run(process.argv.slice(2)))
