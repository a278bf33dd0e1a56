// The insurance screens' charts: vue-echarts with only the ECharts parts they draw (horizontal bars,
// grid, tooltip, legend, zoom), so the route's chunk carries no other chart type.
import { use, type EChartsCoreOption } from 'echarts/core'
import { BarChart } from 'echarts/charts'
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'
import VChart from 'vue-echarts'

use([BarChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, CanvasRenderer])

export { VChart }

export interface BarSeries {
  name: string
  values: number[]
}

/** Horizontal bars, one row per name, longest at the top; a slider once there are more than `shown`. */
export function horizontalBars(names: string[], series: BarSeries[], unit: string, shown = 15): EChartsCoreOption {
  const zoom = names.length > shown
  return {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: number) => `${v.toLocaleString('zh-CN')} ${unit}` },
    legend: series.length > 1 ? { top: 0 } : undefined,
    grid: { left: 8, right: zoom ? 48 : 24, top: series.length > 1 ? 28 : 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', name: unit, axisLabel: { formatter: (v: number) => v.toLocaleString('zh-CN') } },
    // ECharts draws a category axis bottom-up: reverse so the first (largest) row is on top.
    yAxis: { type: 'category', data: [...names].reverse(), axisLabel: { width: 150, overflow: 'truncate' } },
    dataZoom: zoom
      ? [{ type: 'slider', yAxisIndex: 0, right: 8, width: 16, startValue: names.length - shown, endValue: names.length - 1 }, { type: 'inside', yAxisIndex: 0 }]
      : [],
    series: series.map((s) => ({ type: 'bar', name: s.name, data: [...s.values].reverse(), barMaxWidth: 18 })),
  }
}

export function yuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return '—'
  return (fen / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
}
