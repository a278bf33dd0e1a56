"""Medical-insurance payment: DRG grouping, point-value payment, global budget, capitation."""
