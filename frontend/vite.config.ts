import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// The staff workstation is served by FastAPI under /app/ (decision 0026). Element Plus components
// are imported per use (with their styles), so a route's chunk carries only the widgets it shows.
export default defineConfig({
  base: '/app/',
  plugins: [vue(), Components({ resolvers: [ElementPlusResolver()], dts: false })],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 800,
    rollupOptions: { input: { staff: fileURLToPath(new URL('./index.html', import.meta.url)) } },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
})
