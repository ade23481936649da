// Same as etcd's own main.go (go.etcd.io/etcd/v3): etcdmain is the whole server.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
