package targets

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// A target may extend another: `extends: reference.yaml` (relative to the extending file) takes the
// base file's fields and lays the extending file's over them. Mappings merge key by key, at any depth;
// any other value (a string, a list) replaces the base's; `null` removes the base's key. Relative build
// contexts keep meaning "relative to the file that wrote them". Services keep the base's order, then
// the extending file's new ones. This is how one app gets a target per profile (production mode, an
// older Better Auth, no tasks) without copying its whole description.

const maxExtendsDepth = 8

// resolveExtends returns the merged document of the file at abs (its own data in data) and the
// service order of the result.
func resolveExtends(name, abs string, data []byte, depth int, seen []string) ([]byte, []string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, &Error{File: name, Msg: yamlMessage(err)}
	}
	base, ok := doc["extends"]
	if !ok {
		return data, serviceOrder(data), nil
	}
	delete(doc, "extends")
	ref, isStr := base.(string)
	if !isStr || strings.TrimSpace(ref) == "" {
		return nil, nil, &Error{File: name, Field: "extends", Msg: "must name a target file, e.g. extends: reference.yaml"}
	}
	if depth >= maxExtendsDepth {
		return nil, nil, &Error{File: name, Field: "extends", Msg: fmt.Sprintf("more than %d levels of extends", maxExtendsDepth)}
	}
	basePath := ref
	if !filepath.IsAbs(basePath) {
		basePath = filepath.Join(filepath.Dir(abs), basePath)
	}
	if slices.Contains(seen, basePath) {
		return nil, nil, &Error{File: name, Field: "extends", Msg: fmt.Sprintf("%s extends itself through %s", ref, strings.Join(seen, " -> "))}
	}
	baseData, err := os.ReadFile(basePath)
	if err != nil {
		return nil, nil, &Error{File: name, Field: "extends", Msg: fmt.Sprintf("cannot read %s: %v", ref, err)}
	}
	mergedBase, order, err := resolveExtends(basePath, basePath, baseData, depth+1, append(seen, abs))
	if err != nil {
		return nil, nil, err
	}
	var baseDoc map[string]any
	if err := yaml.Unmarshal(mergedBase, &baseDoc); err != nil {
		return nil, nil, &Error{File: basePath, Msg: yamlMessage(err)}
	}
	absContexts(baseDoc, filepath.Dir(basePath))
	merged := mergeYAML(baseDoc, doc)
	for _, s := range serviceOrder(data) {
		if !slices.Contains(order, s) {
			order = append(order, s)
		}
	}
	if svcs, ok := merged["services"].(map[string]any); ok {
		order = slices.DeleteFunc(order, func(s string) bool { _, ok := svcs[s]; return !ok })
	}
	out, err := yaml.Marshal(merged)
	if err != nil {
		return nil, nil, &Error{File: name, Field: "extends", Msg: err.Error()}
	}
	return out, order, nil
}

// absContexts makes the base's relative build contexts absolute, so they keep pointing where the
// base file meant once merged into a file in another folder.
func absContexts(doc map[string]any, dir string) {
	if b, ok := doc["baseline"].(string); ok && b != "" && !filepath.IsAbs(b) {
		doc["baseline"] = filepath.Join(dir, b)
	}
	svcs, _ := doc["services"].(map[string]any)
	for _, s := range svcs {
		svc, _ := s.(map[string]any)
		b, _ := svc["build"].(map[string]any)
		if c, ok := b["context"].(string); ok && c != "" && !filepath.IsAbs(c) {
			b["context"] = filepath.Join(dir, c)
		}
	}
}

// mergeYAML lays over onto base: mappings merge recursively, other values replace, nil deletes.
func mergeYAML(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if v == nil {
			delete(out, k)
			continue
		}
		bm, bok := out[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook {
			out[k] = mergeYAML(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}
