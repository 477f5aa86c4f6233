import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startPostgres, type TestPostgres } from './postgres.ts';

/**
 * A suite's PostgreSQL: one cluster for the file, started before its first test, and a fresh
 * empty database for each test, so no test sees another's rows. Call it inside the suite; its
 * `beforeEach` runs before the suite's own, so `url()` is ready there.
 */
export function postgresPerTest(): { server: () => TestPostgres; url: () => string } {
  let postgres: TestPostgres | undefined;
  let url: string | undefined;
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
  });
  beforeEach(async () => {
    url = await postgres!.database();
  });
  return { server: () => postgres!, url: () => url! };
}
