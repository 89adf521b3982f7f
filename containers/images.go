package containers

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

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
			e.Tried = append(e.Tried, fmt.Sprintf("%s: %v", c, shortErr(err, "pull "+c, scaled(pullTimeout))))
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

// buildContext is the build context exactly as the build sends it: testcontainers' own GetContext
// (Docker's .dockerignore rules through moby/patternmatcher, exceptions included, and the Dockerfile and
// .dockerignore always sent) written to a temporary tar file, and a content hash of that tar together
// with the Dockerfile's name and the build args. Images are tagged with the hash, so an unchanged context
// is never rebuilt and a change to any sent file, the Dockerfile or an arg always is. The same tar is
// what a build then sends, so the hash can never describe other files than the image was built from.
type buildContext struct {
	Hash  string
	Files int    // regular files in the context
	tar   string // path of the tar file; remove with close
}

func (b *buildContext) close() { _ = os.Remove(b.tar) }

func newBuildContext(dir, dockerfile string, args map[string]string) (_ *buildContext, err error) {
	req := &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{Context: dir, Dockerfile: dockerfile}}
	rd, err := req.GetContext()
	if err != nil {
		return nil, err
	}
	if c, ok := rd.(io.Closer); ok {
		defer c.Close()
	}
	f, err := os.CreateTemp("", "authflow-context-*.tar")
	if err != nil {
		return nil, err
	}
	b := &buildContext{tar: f.Name()}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.close()
		}
	}()
	h := sha256.New()
	fmt.Fprintf(h, "dockerfile=%s\n", req.GetDockerfile())
	for _, k := range slices.Sorted(maps.Keys(args)) {
		fmt.Fprintf(h, "arg %q=%q\n", k, args[k])
	}
	// The hash covers each entry's name, type, mode, link target and contents, not its times or owner:
	// a fresh checkout of the same files must give the same tag.
	tr := tar.NewReader(io.TeeReader(rd, f))
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read build context: %w", err)
		}
		fmt.Fprintf(h, "%q %c %o %q %d\n", hd.Name, hd.Typeflag, hd.Mode, hd.Linkname, hd.Size)
		if hd.Typeflag == tar.TypeReg {
			b.Files++
			if _, err := io.Copy(h, tr); err != nil {
				return nil, fmt.Errorf("read build context: %w", err)
			}
		}
	}
	// the tar reader stops at the end marker; the rest of the stream belongs in the file too
	if _, err := io.Copy(f, rd); err != nil {
		return nil, err
	}
	b.Hash = hex.EncodeToString(h.Sum(nil))[:16]
	return b, nil
}

// contextHash is newBuildContext's hash alone.
func contextHash(dir, dockerfile string, args map[string]string) (string, error) {
	b, err := newBuildContext(dir, dockerfile, args)
	if err != nil {
		return "", err
	}
	b.close()
	return b.Hash, nil
}

// ForceRebuild reports AUTHFLOW_REBUILD=1: build every image even when one with the same hash exists.
func ForceRebuild() bool { return os.Getenv("AUTHFLOW_REBUILD") == "1" }

// builtImage is the outcome of buildImage.
type builtImage struct {
	Ref   string
	Hash  string
	Files int
	Fresh bool // built now, not reused
}

// How says what happened for the phase line: "built 3f2a9c01d4e5b6a7, 412 files" or "reused ...".
func (b builtImage) How() string {
	if b.Fresh {
		return fmt.Sprintf("built %s, %d files", b.Hash, b.Files)
	}
	return fmt.Sprintf("reused %s, %d files", b.Hash, b.Files)
}

// buildImage builds dir's Dockerfile as authflow.local/build-<name>:<context hash> unless that image
// already exists, under this name or (tagged then) under another, or force (AUTHFLOW_REBUILD=1) is set. On failure the error carries the build output's last lines.
func buildImage(ctx context.Context, prov *testcontainers.DockerProvider, name string, dir, dockerfile string, args map[string]string, force bool) (builtImage, error) {
	bc, err := newBuildContext(dir, dockerfile, args)
	if err != nil {
		return builtImage{}, fmt.Errorf("read build context %s: %w", dir, err)
	}
	defer bc.close()
	repo := "authflow.local/build-" + name
	res := builtImage{Ref: repo + ":" + bc.Hash, Hash: bc.Hash, Files: bc.Files}
	cli := prov.Client()
	if !force {
		if _, err := cli.ImageInspect(ctx, res.Ref); err == nil {
			return res, nil
		}
		if from := sameBuild(ctx, cli, bc.Hash); from != "" {
			if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: from, Target: res.Ref}); err == nil {
				return res, nil
			}
		}
	}
	tf, err := os.Open(bc.tar)
	if err != nil {
		return res, err
	}
	defer tf.Close()
	buildArgs := map[string]*string{}
	for k, v := range args {
		buildArgs[k] = &v
	}
	out := newRing(40)
	req := &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, ContextArchive: rewindOnClose{tf}, Dockerfile: dockerfile, Repo: repo, Tag: bc.Hash, BuildArgs: buildArgs,
		BuildLogWriter: out, KeepImage: true,
		BuildOptionsModifier: func(o *client.ImageBuildOptions) {
			o.Remove, o.ForceRemove = true, true // the classic builder leaves containers of failed RUNs otherwise
			o.Labels = map[string]string{LabelImage: "build"}
		},
	}}
	budget := scaled(buildTimeout)
	bctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if _, err := prov.BuildImage(bctx, req); err != nil {
		return res, fmt.Errorf("build %s from %s: %v\n--- last build output ---\n%s", name, filepath.Join(dir, dockerfile),
			shortErr(err, "image build", budget), out.String())
	}
	res.Fresh = true
	pruneOldBuilds(ctx, cli, repo, res.Ref)
	return res, nil
}

// rewindOnClose lets testcontainers close the context archive after each build attempt (it does) and
// still retry with the whole archive: Close rewinds instead, and buildImage closes the file itself.
type rewindOnClose struct{ *os.File }

func (r rewindOnClose) Close() error {
	_, err := r.Seek(0, io.SeekStart)
	return err
}

// sameBuild is another service's or target's build with this context hash ("" when there is none).
// The hash covers everything the build reads (the context as sent, the Dockerfile, the build args),
// so that image is this build: it is tagged instead of built again. Profiles of one app, and an app
// repository holding a copy of it, then share their images; and one target's pruning cannot force
// another's rebuild.
func sameBuild(ctx context.Context, cli client.APIClient, hash string) string {
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", "authflow.local/build-*:"+hash)})
	if err != nil {
		return ""
	}
	for _, img := range res.Items {
		for _, tag := range img.RepoTags {
			if strings.HasSuffix(tag, ":"+hash) {
				return tag
			}
		}
	}
	return ""
}

// keptBuilds is how many builds of one service stay besides the one just built: another run on the
// same daemon (a second checkout, a shard of another commit) may be about to start a container from
// its own recent build, which must not vanish under it.
const keptBuilds = 3

// pruneOldBuilds removes all but the newest builds of the same service so images do not pile up;
// an image a container uses is never removed (no force).
func pruneOldBuilds(ctx context.Context, cli client.APIClient, repo, keep string) {
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", repo)})
	if err != nil {
		return
	}
	items := res.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Created > items[j].Created })
	others := 0
	for _, img := range items {
		for _, tag := range img.RepoTags {
			if tag == keep || !strings.HasPrefix(tag, repo+":") {
				continue
			}
			if others++; others <= keptBuilds {
				continue
			}
			_, _ = cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true})
		}
	}
}
