// The shape of /api/indicators (an untyped list in the OpenAPI document) and how its words are shown.
export interface IndicatorValue {
  code: string
  name: string
  unit_code: string
  unit_name: string
  numerator: string
  denominator: string
  value: string | null
  target: string | null
  target_max: string | null
  direction: string
  met: boolean | null
  source: string
  period: string
  period_start: string
  period_end: string
  as_of: string
}

const DIRECTION: Record<string, string> = { '>=': '≥', '<=': '≤', '>': '>', '<': '<', between: '介于' }

export function targetText(v: Pick<IndicatorValue, 'direction' | 'target' | 'target_max'>): string {
  if (v.target === null) return '—'
  if (v.target_max !== null) return `${Number(v.target)}%–${Number(v.target_max)}%`
  return `${DIRECTION[v.direction] ?? v.direction} ${Number(v.target)}%`
}

export function periodChoices(today = new Date()): { value: string; label: string }[] {
  const y = today.getFullYear()
  const quarter = Math.floor(today.getMonth() / 3) + 1
  const out = [{ value: String(y), label: `${y}年（截至今日）` }]
  for (let q = quarter; q >= 1; q--) out.push({ value: `${y}-Q${q}`, label: `${y}年第${q}季度` })
  out.push({ value: String(y - 1), label: `${y - 1}年` })
  return out
}
