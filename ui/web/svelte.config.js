// Svelte's options, read by @sveltejs/vite-plugin-svelte (vite build) and by
// svelte-check (`npm run check`), which with vite-plugin-svelte 4 cannot take
// them from vite.config.ts. Svelte 5 compiles <script lang="ts"> itself: no
// preprocessor.
export default {};
