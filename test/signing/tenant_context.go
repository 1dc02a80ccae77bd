// The Go signing function of doc/tenant-context.md, section "Signing the
// context" (Go): the lines between the snippet markers are the doc's code,
// word for word, and test/signing/run.sh checks that they still are.
//
//	go run tenant_context.go KEY TENANTS EXP [PID]   prints the signed value
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
)

// --- snippet begin ---
// import "crypto/hmac", "crypto/sha256", "encoding/hex", "strconv"

// TenantContext returns the signed value of tenant_guard.tenant: tenants
// ("5" or "5,7") until exp (unix seconds), bound to backend pid unless 0.
func TenantContext(tenants string, exp int64, key []byte, pid uint32) string {
	value := tenants + ";exp=" + strconv.FormatInt(exp, 10)
	if pid != 0 {
		value += ";pid=" + strconv.FormatUint(uint64(pid), 10)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(value))
	return value + ";sig=" + hex.EncodeToString(mac.Sum(nil))
}
// --- snippet end ---

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: tenant_context KEY TENANTS EXP [PID]")
		os.Exit(2)
	}
	exp, err := strconv.ParseInt(os.Args[3], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var pid uint64
	if len(os.Args) > 4 {
		if pid, err = strconv.ParseUint(os.Args[4], 10, 32); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	fmt.Println(TenantContext(os.Args[2], exp, []byte(os.Args[1]), uint32(pid)))
}
