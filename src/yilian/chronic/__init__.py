"""Chronic-disease management (医防融合): registers, visits, risk colours, follow-up plans, long prescriptions."""
