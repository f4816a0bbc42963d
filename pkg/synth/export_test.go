package synth

// SetControlLogit sets the control tokens' output weight for a test and
// returns a function that restores it. Tests that use it must not run in
// parallel with tests that write models.
func SetControlLogit(v float32) (restore func()) {
	old := controlLogit
	controlLogit = v
	return func() { controlLogit = old }
}
