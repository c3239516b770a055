// files.ts — .sql files for query tabs: open, save, save as, and noticing
// a file changed on disk.
//
// In the tusk window the page asks the shell (ui/shell/main.c) through the
// WebKit message handler `tusk`: the shell shows GTK's file chooser and
// reads or writes the file the user picked; the broker never reads a file
// for the page. In `tusk --browser` (or any browser) a file is uploaded
// with the browser's file picker and saved by a download; there is no path,
// so a change on disk cannot be noticed there.

export interface FileRef {
  path: string | null; // null in a browser: a download has no path
  name: string;
  mtime: number | null; // ms since the epoch, as the shell saw it
}

export interface OpenedFile extends FileRef {
  text: string;
}

export interface FileStat {
  path: string;
  exists: boolean;
  mtime: number | null;
}

type Bridge = { postMessage(msg: unknown): Promise<any> };

/** The shell's message handler, when the page runs in the tusk window. */
function bridge(): Bridge | null {
  const h = (window as any).webkit?.messageHandlers?.tusk;
  return h && typeof h.postMessage === 'function' ? (h as Bridge) : null;
}

/** Does the page run in the tusk window (files have paths)? */
export function inShell(): boolean {
  return bridge() !== null;
}

/** Ask the shell; its answer is JSON text (or an error message). */
async function ask(msg: Record<string, unknown>): Promise<any> {
  const b = bridge();
  if (!b) throw new Error('not in the tusk window');
  const r = await b.postMessage(JSON.stringify(msg));
  return typeof r === 'string' ? JSON.parse(r) : r;
}

/**
 * The page has painted its first complete view (the connection list): a
 * marker on <html> (data-ready) for tests, and in the window a `ready`
 * message to the shell (`make bench` times exec → this; docs/frontend.md).
 */
export function announceReady(): void {
  requestAnimationFrame(() => requestAnimationFrame(() => {
    document.documentElement.dataset.ready = '1';
    bridge()?.postMessage(JSON.stringify({ op: 'ready' })).catch(() => {});
    firstViewDone();
  }));
}

let firstViewDone: () => void = () => {};
const firstView = new Promise<void>((resolve) => {
  firstViewDone = resolve;
  setTimeout(resolve, 1500); // (a page that cannot reach the broker still gets what waits)
});

/** Resolves once the first view is painted (or 1.5 s after the start):
 * what is not in it (the editor's chunk) loads then, not in its way. */
export function afterFirstView(): Promise<void> {
  return firstView;
}

export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Let the user pick a .sql file and read it; null when cancelled. */
export async function openFile(): Promise<OpenedFile | null> {
  if (bridge()) {
    const r = await ask({ op: 'open' });
    return r ? { path: r.path, name: baseName(r.path), mtime: r.mtime, text: r.text } : null;
  }
  return new Promise((resolve, reject) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = '.sql,.txt,text/plain,application/sql';
    input.style.display = 'none';
    input.dataset.testid = 'open-file';
    document.body.appendChild(input);
    const done = () => input.remove();
    input.addEventListener('change', async () => {
      const f = input.files?.[0];
      done();
      if (!f) return resolve(null);
      try {
        resolve({ path: null, name: f.name, mtime: f.lastModified ?? null, text: await f.text() });
      } catch (e) {
        reject(e);
      }
    });
    input.addEventListener('cancel', () => { done(); resolve(null); });
    input.click();
  });
}

/**
 * Save text: to file.path when there is one and not saveAs, else where the
 * user says (the shell's chooser, or a download named like the tab). null
 * when cancelled.
 */
export async function saveFile(file: FileRef | null, suggested: string, text: string, saveAs: boolean): Promise<FileRef | null> {
  if (bridge()) {
    const r = await ask({ op: 'save', path: saveAs ? null : file?.path ?? null, name: file?.name ?? suggested, text });
    return r ? { path: r.path, name: baseName(r.path), mtime: r.mtime } : null;
  }
  const name = file?.name ?? suggested;
  const url = URL.createObjectURL(new Blob([text], { type: 'application/sql' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return { path: null, name, mtime: null };
}

/** The files' modification times (tusk window only). */
export async function statFiles(paths: string[]): Promise<FileStat[]> {
  if (!bridge() || paths.length === 0) return [];
  return (await ask({ op: 'stat', paths })) ?? [];
}

/** Read a file the user opened before (tusk window only). */
export async function readFile(path: string): Promise<OpenedFile> {
  const r = await ask({ op: 'read', path });
  return { path: r.path, name: baseName(r.path), mtime: r.mtime, text: r.text };
}

/** Ask the window's chooser for an export's or an import's file: 'save'
 * (confirms an overwrite) or 'open'; only the path comes back (the broker
 * writes or reads the file). null when cancelled or not in the window. */
export async function chooseFile(mode: 'save' | 'open', title: string, name = ''): Promise<string | null> {
  const b = bridge();
  if (!b) return null;
  const r = await b.postMessage(JSON.stringify({ op: 'choose', mode, title, name }));
  return typeof r === 'string' && r.startsWith('/') ? r : null;
}
