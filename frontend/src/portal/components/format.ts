// Dates and times as residents read them: 2026-12-08 周二 08:00–08:12.
const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六']

export function weekday(day: string): string {
  return WEEKDAYS[new Date(`${day.slice(0, 10)}T00:00:00`).getDay()] ?? ''
}

export function when(b: { starts_at: string; ends_at: string }): string {
  return `${b.starts_at.slice(0, 10)} ${weekday(b.starts_at)} ${b.starts_at.slice(11, 16)}–${b.ends_at.slice(11, 16)}`
}

export function dayOf(b: { starts_at: string }): string {
  return `${b.starts_at.slice(0, 10)} ${weekday(b.starts_at)}`
}

export function hours(b: { starts_at: string; ends_at: string }): string {
  return `${b.starts_at.slice(11, 16)}–${b.ends_at.slice(11, 16)}`
}
