// global.d.ts — what the page adds to the browser's globals.
import type { AppState } from './lib/app.svelte';

declare global {
  interface Window {
    /** the app's state, for the end-to-end tests and the curious (App.svelte) */
    tusk?: AppState;
  }
}

export {};
