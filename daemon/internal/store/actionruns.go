package store

import "fmt"

// DeleteActionExecution deletes one action execution. Mistral keeps no
// record of an action run through POST /v2/action_executions without
// save_result; the engine needs a row while it runs (its result is
// applied to it) and deletes it once the caller has the result.
func (t *sqlTx) DeleteActionExecution(id string) error {
	res, err := t.exec("DELETE FROM action_executions WHERE id = ?", id)
	return t.deleted(fmt.Sprintf("action execution %q", id), res, err)
}
