"""Family-doctor teams, service packages, contracts and the signing-fee distribution."""
