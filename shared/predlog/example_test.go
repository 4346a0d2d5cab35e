package predlog_test

import (
	"fmt"
	"time"

	"github.com/megapipe/mega/shared/predlog"
)

// What collect writes for one batch of model churn, version v2, and how the
// drift check tells that the rows belong to v2.
func Example() {
	start := time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)
	rows := predlog.RowsName("churn", "v2", start, "4711")
	fmt.Println(rows)
	fmt.Println(predlog.AggregateName("churn", "v2", start))
	n, err := predlog.Parse(rows)
	fmt.Println(n.Kind, n.Model, n.Start.Format(time.RFC3339), n.HasVersion("v2"), n.HasVersion("v1"), err)
	// Output:
	// predictions/churn/20260102T0305Z/4711-v2.jsonl
	// predictions/churn/20260102T0305Z/v2.window.json
	// rows churn 2026-01-02T03:05:00Z true false <nil>
}
