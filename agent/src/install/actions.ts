// Install and uninstall as a list of plain actions: planned without touching anything, then either printed
// (--dry-run) or applied, by one switch over the action kind.
export type InstallAction =
  | { readonly kind: 'create-user'; readonly user: string; readonly home: string }
  | { readonly kind: 'delete-user'; readonly user: string }
  | { readonly kind: 'mkdir'; readonly path: string; readonly mode: number; readonly owner?: string }
  | {
      readonly kind: 'write';
      readonly path: string;
      readonly mode: number;
      readonly content: string;
      readonly owner?: string;
    }
  /** A copied file's contents are never printed: the device key is one of them. */
  | {
      readonly kind: 'copy';
      readonly from: string;
      readonly path: string;
      readonly mode: number;
      readonly owner?: string;
    }
  | { readonly kind: 'remove'; readonly path: string; readonly recursive: boolean }
  /** `mayFail`: a failure is reported and the rest goes on (uninstalling what is half installed). */
  | { readonly kind: 'run'; readonly argv: readonly string[]; readonly mayFail: boolean };

const mode = (m: number) => m.toString(8).padStart(4, '0');
const owned = (a: { mode: number; owner?: string }) => `(${mode(a.mode)}${a.owner ? `, owner ${a.owner}` : ''})`;

/** One human-readable line per action (plus the contents of written files, for --dry-run). */
export function describeAction(a: InstallAction, withContent: boolean): string {
  switch (a.kind) {
    case 'create-user':
      return `create system user ${a.user} (home ${a.home}, no login shell) unless it exists`;
    case 'delete-user':
      return `delete system user ${a.user}`;
    case 'mkdir':
      return `mkdir ${a.path} ${owned(a)}`;
    case 'write': {
      const head = `write ${a.path} ${owned(a)}`;
      return withContent ? `${head}:\n${a.content.replace(/\n$/, '').replace(/^/gm, '    | ')}` : head;
    }
    case 'copy':
      return `copy ${a.from} -> ${a.path} ${owned(a)}${a.mode & 0o077 ? '' : ' [contents not shown]'}`;
    case 'remove':
      return `remove ${a.path}${a.recursive ? ' (and everything in it)' : ''}`;
    case 'run':
      return `run ${a.argv.join(' ')}`;
    default: {
      const unknown: never = a;
      throw new TypeError(`unknown install action ${JSON.stringify(unknown)}`);
    }
  }
}
