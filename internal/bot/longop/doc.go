// Package longop holds one slow test, in a package of its own so that it runs beside the rest of
// the suite instead of lengthening internal/bot's: a PR environment whose `pulumi up` takes 75 s and
// whose `pulumi destroy` takes 90 s — longer than River's one-minute default job timeout — deploys
// and is destroyed, with one comment, one check run and no job retried.
package longop
