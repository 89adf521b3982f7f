package chatkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound means the thread does not exist or belongs to someone else (the caller cannot tell).
var ErrNotFound = errors.New("not found")

// errBadCursor means the after cursor names no row the caller may see.
var errBadCursor = errors.New("unknown after cursor")

// Schema is created at start. The tasks columns are the contract in refapp/README.md.
// seq gives a stable insertion order for paging (created_at can tie).
const schemaSQL = `
CREATE TABLE IF NOT EXISTS chatkit_threads (
  seq        bigserial   NOT NULL,
  id         text        PRIMARY KEY,
  user_id    text        NOT NULL,
  title      text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS chatkit_threads_user_seq_idx ON chatkit_threads (user_id, seq);
CREATE TABLE IF NOT EXISTS chatkit_items (
  seq               bigserial   NOT NULL,
  id                text        PRIMARY KEY,
  thread_id         text        NOT NULL REFERENCES chatkit_threads (id) ON DELETE CASCADE,
  user_id           text        NOT NULL,
  type              text        NOT NULL,
  content           jsonb       NOT NULL,
  quoted_text       text,
  inference_options jsonb,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS chatkit_items_thread_seq_idx ON chatkit_items (thread_id, seq);
CREATE TABLE IF NOT EXISTS tasks (
  id         bigserial   PRIMARY KEY,
  user_id    text        NOT NULL,
  title      text        NOT NULL,
  completed  boolean     NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tasks_user_id_idx ON tasks (user_id, id);
`

// Store keeps threads, items and tasks in Postgres. Every method takes the owner's user id;
// owner == "" means "any user" and is only passed when the no-user-scoping fault is on.
type Store struct {
	pool *pgxpool.Pool
}

func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Migrate creates the tables if they do not exist. An advisory lock keeps concurrent starts safe.
func (s *Store) Migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7422114101)`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, schemaSQL); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

type pageParams struct {
	Limit int
	Desc  bool
	After string
}

func orderSQL(desc bool) (string, string) {
	if desc {
		return "DESC", "<"
	}
	return "ASC", ">"
}

const threadCols = `id, user_id, title, created_at`

func scanThread(row pgx.Row) (threadRow, error) {
	var t threadRow
	err := row.Scan(&t.ID, &t.UserID, &t.Title, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// CreateThread stores a new thread together with its first item.
func (s *Store) CreateThread(ctx context.Context, t threadRow, first Item) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `INSERT INTO chatkit_threads (id, user_id, title, created_at) VALUES ($1, $2, $3, $4)`,
		t.ID, t.UserID, t.Title, t.CreatedAt); err != nil {
		return err
	}
	if err := insertItem(ctx, tx, t.UserID, first); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func (s *Store) GetThread(ctx context.Context, owner, threadID string) (threadRow, error) {
	return scanThread(s.pool.QueryRow(ctx,
		`SELECT `+threadCols+` FROM chatkit_threads WHERE id = $1 AND ($2 = '' OR user_id = $2)`, threadID, owner))
}

func (s *Store) ListThreads(ctx context.Context, owner string, p pageParams) (Page[threadRow], error) {
	dir, cmp := orderSQL(p.Desc)
	var cursor int64
	if p.After != "" {
		err := s.pool.QueryRow(ctx, `SELECT seq FROM chatkit_threads WHERE id = $1 AND ($2 = '' OR user_id = $2)`,
			p.After, owner).Scan(&cursor)
		if errors.Is(err, pgx.ErrNoRows) {
			return Page[threadRow]{}, errBadCursor
		} else if err != nil {
			return Page[threadRow]{}, err
		}
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT `+threadCols+` FROM chatkit_threads
		WHERE ($1 = '' OR user_id = $1) AND ($2 = 0 OR seq %s $2) ORDER BY seq %s LIMIT $3`, cmp, dir),
		owner, cursor, p.Limit+1)
	if err != nil {
		return Page[threadRow]{}, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (threadRow, error) { return scanThread(r) })
	if err != nil {
		return Page[threadRow]{}, err
	}
	return makePage(list, p.Limit, func(t threadRow) string { return t.ID }), nil
}

func makePage[T any](list []T, limit int, id func(T) string) Page[T] {
	page := Page[T]{Data: list}
	if page.Data == nil {
		page.Data = []T{}
	}
	if len(list) > limit {
		page.Data = list[:limit]
		page.HasMore = true
		page.After = id(page.Data[limit-1])
	}
	return page
}

// SetTitle updates the title of the owner's thread and returns the updated thread.
func (s *Store) SetTitle(ctx context.Context, owner, threadID, title string) (threadRow, error) {
	return scanThread(s.pool.QueryRow(ctx,
		`UPDATE chatkit_threads SET title = $3 WHERE id = $1 AND user_id = $2 RETURNING `+threadCols,
		threadID, owner, title))
}

func (s *Store) DeleteThread(ctx context.Context, owner, threadID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM chatkit_threads WHERE id = $1 AND user_id = $2`, threadID, owner)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// dbExec is satisfied by *pgxpool.Pool and pgx.Tx.
type dbExec interface {
	Exec(ctx context.Context, sql string, arguments ...any) (pgconn.CommandTag, error)
}

func insertItem(ctx context.Context, db dbExec, owner string, it Item) error {
	content, opts, err := encodeItem(it)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO chatkit_items (id, thread_id, user_id, type, content, quoted_text, inference_options, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, it.ID, it.ThreadID, owner, it.Type, content, it.QuotedText, opts, it.CreatedAt)
	return err
}

func encodeItem(it Item) (content []byte, opts []byte, err error) {
	switch it.Type {
	case itemUserMessage:
		if content, err = json.Marshal(nonNil(it.UserContent)); err != nil {
			return nil, nil, err
		}
		opts, err = json.Marshal(it.InferenceOptions)
		return content, opts, err
	case itemAssistantMessage:
		content, err = json.Marshal(nonNil(it.AssistantContent))
		return content, nil, err
	}
	return nil, nil, fmt.Errorf("cannot store item type %q", it.Type)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// AddItem stores an item in a thread the caller has already loaded.
func (s *Store) AddItem(ctx context.Context, owner string, it Item) error {
	return insertItem(ctx, s.pool, owner, it)
}

const itemCols = `id, thread_id, type, content, quoted_text, inference_options, created_at`

func scanItem(row pgx.Row) (Item, error) {
	var (
		it            Item
		content, opts []byte
	)
	if err := row.Scan(&it.ID, &it.ThreadID, &it.Type, &content, &it.QuotedText, &opts, &it.CreatedAt); err != nil {
		return it, err
	}
	switch it.Type {
	case itemUserMessage:
		if err := json.Unmarshal(content, &it.UserContent); err != nil {
			return it, err
		}
		if len(opts) > 0 {
			if err := json.Unmarshal(opts, &it.InferenceOptions); err != nil {
				return it, err
			}
		}
	case itemAssistantMessage:
		if err := json.Unmarshal(content, &it.AssistantContent); err != nil {
			return it, err
		}
		for i := range it.AssistantContent {
			if it.AssistantContent[i].Annotations == nil {
				it.AssistantContent[i].Annotations = []json.RawMessage{}
			}
		}
	}
	return it, nil
}

// ListItems pages the items of a thread the caller has already loaded (and so may see).
func (s *Store) ListItems(ctx context.Context, threadID string, p pageParams) (Page[Item], error) {
	dir, cmp := orderSQL(p.Desc)
	var cursor int64
	if p.After != "" {
		err := s.pool.QueryRow(ctx, `SELECT seq FROM chatkit_items WHERE id = $1 AND thread_id = $2`,
			p.After, threadID).Scan(&cursor)
		if errors.Is(err, pgx.ErrNoRows) {
			return Page[Item]{}, errBadCursor
		} else if err != nil {
			return Page[Item]{}, err
		}
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT `+itemCols+` FROM chatkit_items
		WHERE thread_id = $1 AND ($2 = 0 OR seq %s $2) ORDER BY seq %s LIMIT $3`, cmp, dir),
		threadID, cursor, p.Limit+1)
	if err != nil {
		return Page[Item]{}, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) { return scanItem(r) })
	if err != nil {
		return Page[Item]{}, err
	}
	return makePage(list, p.Limit, func(it Item) string { return it.ID }), nil
}

// LastUserMessage returns the newest user message of a thread, or nil.
func (s *Store) LastUserMessage(ctx context.Context, threadID string) (*Item, error) {
	it, err := scanItem(s.pool.QueryRow(ctx, `SELECT `+itemCols+` FROM chatkit_items
		WHERE thread_id = $1 AND type = 'user_message' ORDER BY seq DESC LIMIT 1`, threadID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &it, nil
}

// Task is a row of the tasks table.
type Task struct {
	ID        int64
	UserID    string
	Title     string
	Completed bool
	CreatedAt time.Time
}

func (s *Store) AddTask(ctx context.Context, owner, title string) (Task, error) {
	t := Task{UserID: owner, Title: title}
	err := s.pool.QueryRow(ctx, `INSERT INTO tasks (user_id, title, completed, created_at) VALUES ($1, $2, false, now())
		RETURNING id, created_at`, owner, title).Scan(&t.ID, &t.CreatedAt)
	return t, err
}

// ListTasks returns the owner's tasks, oldest first (the order the assistant numbers them in).
func (s *Store) ListTasks(ctx context.Context, owner string) ([]Task, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, title, completed, created_at FROM tasks
		WHERE user_id = $1 ORDER BY id`, owner)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Task, error) {
		var t Task
		err := r.Scan(&t.ID, &t.UserID, &t.Title, &t.Completed, &t.CreatedAt)
		return t, err
	})
}

func (s *Store) CompleteTask(ctx context.Context, owner string, id int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE tasks SET completed = true WHERE id = $1 AND user_id = $2`, id, owner)
	return err
}
