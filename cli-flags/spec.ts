/**
 * How a command declares its flags and arguments. The declaration is the single source of the
 * parser's behaviour, of the value types the command receives, and of its `--help` text.
 */

interface FlagBase {
  /** One line (or a few) for `--help`. */
  readonly help: string;
  /** Other spellings of the same flag (`listen-port` for `listen.port`); not shown in `--help`. */
  readonly aliases?: readonly string[];
  /** Left out of `--help` (spellings kept for old scripts). */
  readonly hidden?: boolean;
}

/** `--json`: present or not. */
interface BooleanFlag extends FlagBase {
  readonly type: 'boolean';
  /**
   * Also takes `--name=true` and `--name=false`, and the command receives `undefined` when the
   * flag is absent: for settings that stay as they were unless given (`--snat-subnet-routes=false`).
   */
  readonly negatable?: boolean;
}

interface ValueFlag extends FlagBase {
  /** The placeholder in `--help` (`--server URL`). */
  readonly value?: string;
  /** May be given more than once; the command receives every value in order. */
  readonly repeatable?: boolean;
  /** Missing is a usage error. */
  readonly required?: boolean;
}

export interface StringFlag extends ValueFlag {
  readonly type: 'string';
  readonly default?: string;
  /** The only values allowed. */
  readonly choices?: readonly string[];
}

export interface NumberFlag extends ValueFlag {
  readonly type: 'number';
  readonly default?: number;
  /** Whole numbers only. */
  readonly integer?: boolean;
  /** Inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
}

export type FlagSpec = BooleanFlag | StringFlag | NumberFlag;
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** One positional argument: `ID`, `[NAME]`, `[TAG...]`. */
interface PositionalSpec {
  readonly name: string;
  readonly optional?: boolean;
  /** Takes every remaining argument (the last positional only). */
  readonly variadic?: boolean;
}

export interface CommandSpec<F extends FlagSpecs = FlagSpecs> {
  /** The whole command as typed, `trellis-server users create`: errors and `--help` name it. */
  readonly name: string;
  /** What the command does, for `--help` and its group's listing. */
  readonly summary: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly flags: F;
  /** Printed after the flags in `--help` (environment variables, exit codes, examples). */
  readonly notes?: string;
}

/** A command made of subcommands (`trellis-server users list|create|...`). */
export interface GroupSpec {
  readonly name: string;
  readonly summary: string;
  /** Each subcommand's declaration, or a one-line stand-in where loading it would cost (lazy modules). */
  readonly commands: Readonly<Record<string, CommandSpec | GroupSpec | CommandEntry>>;
  readonly notes?: string;
}

/** A subcommand as its group's `--help` lists it, without its declaration. */
export interface CommandEntry {
  readonly summary: string;
  /** Arguments after the name, e.g. `--server URL --auth-key KEY [options]`. */
  readonly synopsis: string;
}

type Base<S> = S extends NumberFlag
  ? number
  : S extends { readonly choices: readonly (infer C extends string)[] }
    ? C
    : string;

/** The type a command receives for one flag. */
type FlagValue<S extends FlagSpec> = S extends BooleanFlag
  ? S extends { readonly negatable: true }
    ? boolean | undefined
    : boolean
  : S extends { readonly repeatable: true }
    ? Base<S>[]
    : S extends { readonly required: true } | { readonly default: string | number }
      ? Base<S>
      : Base<S> | undefined;

export type FlagValues<F extends FlagSpecs> = { -readonly [K in keyof F]: FlagValue<F[K]> };

/** Declares a command; `const` keeps literal types so that each flag's value is typed exactly. */
export function command<const F extends FlagSpecs>(spec: CommandSpec<F>): CommandSpec<F> {
  return spec;
}

/** Declares a flag set shared by several commands (spread it into each one's `flags`). */
export function flags<const F extends FlagSpecs>(specs: F): F {
  return specs;
}

export function group<const G extends GroupSpec>(spec: G): G {
  return spec;
}
