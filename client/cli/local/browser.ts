import { spawn } from 'node:child_process';

/**
 * Opens a URL in the person's browser when there is a display to show it on. Best effort: the
 * URL is printed anyway, so a missing xdg-open, a headless machine or a failing launcher is
 * never an error. Returns whether it tried.
 */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return false;
  try {
    const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true, env });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
