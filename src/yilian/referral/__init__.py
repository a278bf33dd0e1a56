"""Two-way referral: upward to the county and beyond, downward for recovery and rehabilitation."""
