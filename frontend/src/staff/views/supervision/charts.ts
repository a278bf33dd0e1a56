// The supervision screens' charts: vue-echarts with only the ECharts parts they draw (bars with a
// target line, zoom), so the chunk stays small.
import { use } from 'echarts/core'
import { BarChart } from 'echarts/charts'
import { DataZoomComponent, GridComponent, MarkLineComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'
import VChart from 'vue-echarts'

use([BarChart, DataZoomComponent, GridComponent, MarkLineComponent, TooltipComponent, CanvasRenderer])

export { VChart }

export interface Bar {
  name: string
  value: number | null
  /** colour of the bar: missed target, met, or a yellow card */
  tone?: 'missed' | 'met' | 'card' | 'plain'
}

const TONES = { missed: '#f56c6c', met: '#67c23a', card: '#e6a23c', plain: '#409eff' }

/** Horizontal bars, largest at the top, a zoom slider when there are more than `visible` bars, and the
 * target as a dashed line. Names are cut to 14 characters on the axis (the tooltip has them whole). */
export function horizontalBars(bars: Bar[], opts: { unit: string; target?: number | null; visible?: number }) {
  const visible = opts.visible ?? 25
  const rows = [...bars].reverse() // ECharts draws the first category at the bottom
  const zoom = rows.length > visible
  return {
    animation: false,
    grid: { left: 8, right: zoom ? 48 : 24, top: 16, bottom: 24, containLabel: true },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'value', name: opts.unit, nameLocation: 'end' },
    yAxis: {
      type: 'category',
      data: rows.map((b) => b.name),
      axisLabel: { formatter: (v: string) => (v.length > 14 ? `${v.slice(0, 14)}…` : v) },
    },
    dataZoom: zoom
      ? [
          { type: 'slider', yAxisIndex: 0, right: 8, width: 18, startValue: rows.length - visible, endValue: rows.length - 1 },
          { type: 'inside', yAxisIndex: 0 },
        ]
      : [],
    series: [
      {
        type: 'bar',
        barMaxWidth: 18,
        data: rows.map((b) => ({ value: b.value, itemStyle: { color: TONES[b.tone ?? 'plain'] } })),
        label: { show: rows.length <= 40, position: 'right', fontSize: 11 },
        markLine:
          opts.target === undefined || opts.target === null
            ? undefined
            : {
                symbol: 'none',
                lineStyle: { color: '#f56c6c', type: 'dashed' },
                label: { formatter: `目标 ${opts.target}${opts.unit}`, position: 'end' },
                data: [{ xAxis: opts.target }],
              },
      },
    ],
  }
}
