// What the refer-down dialog starts from: the patient and the upward referral they came by.
export interface DownSource {
  referral_id: number | null // the upward referral the patient came by, closed as 完成 once sent down
  resident_id: number
  resident_name: string
  diagnoses: string[] // ICD-10 codes
  diagnosis_labels: string[]
  to_institution_id: number | null // default receiver: the township that referred the patient up
  to_institution_name: string
}
