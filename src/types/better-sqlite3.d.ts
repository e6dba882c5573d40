// Minimal typings for better-sqlite3 (the parts GridLedger uses) until `@types/better-sqlite3`
// is added as a dev dependency; delete this file then.
declare module "better-sqlite3" {
  namespace Database {
    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }
    interface Statement {
      run(...params: unknown[]): RunResult;
      get(...params: unknown[]): unknown;
      all(...params: unknown[]): unknown[];
    }
    interface Database {
      readonly open: boolean;
      prepare(sql: string): Statement;
      exec(sql: string): this;
      pragma(source: string, options?: { simple?: boolean }): unknown;
      transaction<F extends (...args: never[]) => unknown>(fn: F): F;
      close(): this;
    }
  }
  interface DatabaseConstructor {
    new (filename: string, options?: Record<string, unknown>): Database.Database;
  }
  const Database: DatabaseConstructor;
  export = Database;
}
