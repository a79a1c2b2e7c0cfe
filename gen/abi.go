package main

import "path/filepath"

// writeABI generates zz_generated/abi from gen/abi/*.h; nothing when there
// are no headers yet.
func writeABI(models []*versionModel, cfg config) error {
	hs, _ := filepath.Glob(filepath.Join(cfg.abiDir, "*.h"))
	if len(hs) == 0 {
		return nil
	}
	return generateABI(hs, models, cfg)
}
