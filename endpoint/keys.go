package endpoint

import (
	"fmt"

	"github.com/wardenhq/warden/vault"
)

// TenantPseudonymizer returns the tenant's current pseudonymizer from a
// vault key directory, so pseudonyms made on the desktop join with the ones
// the collector's fieldhash makes from the same tenant key.
func TenantPseudonymizer(keysDir, tenant string, create bool) (*vault.Pseudonymizer, error) {
	st, err := vault.OpenLocalStore(keysDir, vault.LocalOptions{AutoCreate: create})
	if err != nil {
		return nil, fmt.Errorf("endpoint: keys %s: %w", keysDir, err)
	}
	k, err := st.TenantKeys(tenant)
	if err != nil {
		return nil, fmt.Errorf("endpoint: tenant %q key: %w", tenant, err)
	}
	return vault.NewPseudonymizer(k.Current)
}
