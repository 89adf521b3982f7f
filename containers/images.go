package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// ImageError says no candidate image could be found or pulled.
type ImageError struct {
	Candidates []string
	Tried      []string
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("none of the images %s is present, and pulling failed (%s). Fix: run `make setup`, which builds the local "+
		"fallback images (authflow.local/...) offline with debootstrap", strings.Join(e.Candidates, ", "), strings.Join(e.Tried, "; "))
}

// ResolveImage returns the first candidate present locally; failing that, the first that can be pulled
// (local authflow.local/... names are never pulled).
func ResolveImage(ctx context.Context, cli client.APIClient, candidates []string) (string, error) {
	for _, c := range candidates {
		if _, err := cli.ImageInspect(ctx, c); err == nil {
			return c, nil
		}
	}
	e := &ImageError{Candidates: candidates}
	for _, c := range candidates {
		if strings.HasPrefix(c, "authflow.local/") {
			continue
		}
		if err := pull(ctx, cli, c); err != nil {
			e.Tried = append(e.Tried, fmt.Sprintf("%s: %v", c, shortErr(err)))
			continue
		}
		return c, nil
	}
	if len(e.Tried) == 0 {
		e.Tried = []string{"only local names"}
	}
	return "", e
}

func pull(ctx context.Context, cli client.APIClient, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, scaled(pullTimeout))
	defer cancel()
	rc, err := cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// contextHash is a content hash of a build context (paths, modes, file contents, symlink targets),
// honouring a .dockerignore's plain entries. Images are tagged with it, so an unchanged context is
// never rebuilt and a changed one always is.
func contextHash(dir, dockerfile string, args map[string]string) (string, error) {
	ignore := readDockerignore(dir)
	h := sha256.New()
	fmt.Fprintf(h, "dockerfile=%s\n", dockerfile)
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "arg %s=%s\n", k, args[k])
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel != "." && ignored(ignore, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %o\n", filepath.ToSlash(rel), info.Mode())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(h, "-> %s\n", target)
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func readDockerignore(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") {
			continue
		}
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(line, "/"), "/"))
	}
	return out
}

func ignored(patterns []string, rel string) bool {
	rel = filepath.ToSlash(rel)
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, rel); ok {
			return true
		}
		if strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// buildImage builds dir's Dockerfile as repo:tag unless that image already exists. It returns the image
// name, whether it was built, and on failure the build output's last lines.
func buildImage(ctx context.Context, prov *testcontainers.DockerProvider, name string, dir, dockerfile string, args map[string]string) (string, bool, error) {
	hash, err := contextHash(dir, dockerfile, args)
	if err != nil {
		return "", false, fmt.Errorf("hash build context %s: %w", dir, err)
	}
	repo := "authflow.local/build-" + name
	ref := repo + ":" + hash
	cli := prov.Client()
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		return ref, false, nil
	}
	buildArgs := map[string]*string{}
	for k, v := range args {
		buildArgs[k] = &v
	}
	out := newRing(40)
	req := &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Dockerfile: dockerfile, Repo: repo, Tag: hash, BuildArgs: buildArgs,
		BuildLogWriter: out, KeepImage: true,
		BuildOptionsModifier: func(o *client.ImageBuildOptions) {
			o.Remove, o.ForceRemove = true, true // the classic builder leaves containers of failed RUNs otherwise
			o.Labels = map[string]string{LabelImage: "build"}
		},
	}}
	bctx, cancel := context.WithTimeout(ctx, scaled(5*time.Minute))
	defer cancel()
	if _, err := prov.BuildImage(bctx, req); err != nil {
		return "", false, fmt.Errorf("build %s from %s: %v\n--- last build output ---\n%s", name, filepath.Join(dir, dockerfile), shortErr(err), out.String())
	}
	pruneOldBuilds(ctx, cli, repo, ref)
	return ref, true, nil
}

// pruneOldBuilds removes earlier builds of the same service so images do not pile up.
func pruneOldBuilds(ctx context.Context, cli client.APIClient, repo, keep string) {
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", repo)})
	if err != nil {
		return
	}
	for _, img := range res.Items {
		for _, tag := range img.RepoTags {
			if tag != keep && strings.HasPrefix(tag, repo+":") {
				_, _ = cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true})
			}
		}
	}
}
