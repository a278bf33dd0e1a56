import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { VantResolver } from '@vant/auto-import-resolver'

// Two entries in one build (decision 0026): the staff workstation (index.html, Element Plus), served
// by FastAPI under /app/, and the residents' phone pages (portal.html, Vant 4), served under /m/. Both
// load their hashed assets from /app/assets/. Components of either library are imported per use (with
// their styles), so a route's chunk carries only the widgets it shows.
export default defineConfig({
  base: '/app/',
  plugins: [vue(), Components({ resolvers: [ElementPlusResolver(), VantResolver()], dts: false })],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      input: {
        staff: fileURLToPath(new URL('./index.html', import.meta.url)),
        portal: fileURLToPath(new URL('./portal.html', import.meta.url)),
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
})
