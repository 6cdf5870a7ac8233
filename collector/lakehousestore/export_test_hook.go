package lakehousestore

import "errors"

// TestQuery runs SQL on the writer session. It exists for tests of other
// packages (the exporter's) that run a store without the SQL endpoint; it
// refuses anything but SELECT so it cannot become a write path.
func TestQuery(s *Store, sql string) ([]byte, error) {
	if len(sql) < 6 || (sql[:6] != "SELECT" && sql[:6] != "select") {
		return nil, errors.New("TestQuery: SELECT only")
	}
	return s.sink.Query(sql, "TSVRaw")
}
