/**
 * Kernel names as the server makes and accepts them, for checking a name as it is typed and for
 * finding the kernel a build would get. Pure functions: the server's rules, said once on this side.
 */

/** kernels/spec.py `check_name`, on the lower-cased name. */
const NAME = /^[a-z0-9][a-z0-9._-]*$/;
const NAME_MAX = 255;

/** Why `name` cannot name a kernel, in words; null when it can. */
export function nameProblem(name: string): string | null {
  const lowered = name.trim().toLowerCase();
  if (!lowered) {
    return 'Type a name for the kernel.';
  }
  if (!NAME.test(lowered)) {
    return "Use letters, digits, '.', '_' and '-' only, starting with a letter or a digit.";
  }
  return lowered.length > NAME_MAX ? `Use at most ${NAME_MAX} characters.` : null;
}

/** `3.13.5` → `3.13`. */
export function minorOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/** `x86-64-v3` → `v3`, as kernel names and the level choices spell it; other levels unchanged. */
export function levelFlag(level: string | null | undefined): string {
  return level?.startsWith('x86-64-') ? level.slice('x86-64-'.length) : (level ?? '');
}

/** The name the server gives a kernel of this build unless told another (kernels/spec.py). */
export function defaultName(minor: string, freethreaded: boolean, level: string): string {
  return ['pyvariant', `${minor}${freethreaded ? 't' : ''}`, /^v\d+$/.test(level) ? level : '']
    .filter(Boolean)
    .join('-');
}
