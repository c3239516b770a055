// native.ts — what the tusk window (ui/shell) adds to the page: its file
// chooser. The shell registers a script message handler `tuskFile` that
// opens GTK's chooser and answers with the chosen path (or null). In a
// browser there is none: the dialogs take a typed path instead.

interface ReplyHandler {
  postMessage(msg: unknown): Promise<unknown>;
}

function handler(): ReplyHandler | null {
  const w = window as unknown as { webkit?: { messageHandlers?: Record<string, ReplyHandler | undefined> } };
  return w.webkit?.messageHandlers?.tuskFile ?? null;
}

/** Is the window's own file chooser there? */
export function nativeChooser(): boolean {
  return handler() !== null;
}

/** Ask the window for a path: 'save' (confirms an overwrite) or 'open'.
 * null when the user cancelled (or there is no chooser). */
export async function chooseFile(mode: 'save' | 'open', title: string, name = ''): Promise<string | null> {
  const h = handler();
  if (!h) return null;
  const r = await h.postMessage({ mode, title, name });
  return typeof r === 'string' && r.startsWith('/') ? r : null;
}
