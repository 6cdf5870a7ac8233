package policy

import "io/fs"

func fsReadFile(name string) ([]byte, error) { return fs.ReadFile(DefaultBundle(), name) }
