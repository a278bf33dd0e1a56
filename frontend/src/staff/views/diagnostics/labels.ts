// Words for the diagnostics codes the API returns (diagnostics/rules.py MODALITIES), and the waiting
// time against the centre's report-time target.
export const MODALITIES: { value: string; label: string }[] = [
  { value: 'DX', label: '数字X线摄影(DR)' },
  { value: 'CR', label: '计算机X线摄影' },
  { value: 'CT', label: 'CT' },
  { value: 'MR', label: '磁共振(MRI)' },
  { value: 'ECG', label: '心电图' },
  { value: 'US', label: '超声' },
  { value: 'PATH', label: '病理' },
  { value: 'LAB', label: '检验' },
]
export const modalityLabel = (code: string): string => MODALITIES.find((m) => m.value === code)?.label ?? code

export function minutes(value: number | null | undefined): string {
  if (value === null || value === undefined) return ''
  const d = Math.floor(value / 1440)
  const h = Math.floor((value % 1440) / 60)
  const m = value % 60
  if (d) return `${d}天${h ? `${h}小时` : ''}`
  return h ? `${h}小时${m ? `${m}分` : ''}` : `${m}分钟`
}

/** ok: under three quarters of the target; near: before it; over: past it; none: no target set. */
export function waitLevel(waiting: number | null | undefined, target: number | null | undefined): 'ok' | 'near' | 'over' | 'none' {
  if (waiting === null || waiting === undefined || !target) return 'none'
  if (waiting >= target) return 'over'
  return waiting >= target * 0.75 ? 'near' : 'ok'
}

export const when = (value: string | null | undefined): string => (value ? value.slice(0, 16).replace('T', ' ') : '')
