"""Unified appointments: schedules, slots, reserved quotas for grassroots referrals, bookings."""
