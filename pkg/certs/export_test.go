package certs

// CreateCertTweaked is createCert for tests: it takes the time of issue and
// a hook that edits the template just before signing.
var CreateCertTweaked = createCert

// CreateCAAt is createCA for tests, at a given time of issue.
var CreateCAAt = createCA
