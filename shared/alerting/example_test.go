package alerting_test

import (
	"fmt"

	"github.com/megapipe/mega/shared/alerting"
)

func ExamplePolicies() {
	policies, err := alerting.Policies()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range policies {
		fmt.Println(p.GetDisplayName(), len(p.GetConditions()))
	}
	// Output:
	// Megapipe: dataset drift 1
	// Megapipe: feature drift 4
}
