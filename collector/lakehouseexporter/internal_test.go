package lakehouseexporter

import (
	"github.com/wardenhq/warden/collector/lakehousestore"
)

// storeExec queries through the writer session (tests only: this test
// store runs without the read-only SQL session).
func storeExec(s *lakehousestore.Store, sql string) ([]byte, error) {
	return lakehousestore.TestQuery(s, sql)
}
