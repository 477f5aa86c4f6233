import { buildConsole, consoleBuildIsStale } from '../../console/build.ts';

/** Vitest global setup: the console's static files, built once per run when out of date. */
export default async function setup(): Promise<void> {
  if (consoleBuildIsStale()) await buildConsole();
}
