package chatkit

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The assistant is deterministic (refapp/README.md):
//   add task <title>    -> creates a task, replies: Added task "<title>".
//   list tasks          -> numbered list, or: You have no tasks.
//   complete task <n>   -> marks the n-th task (list numbering) done
//   anything else       -> a short helpful reply that quotes the previous user message of the thread.

var (
	addTaskRe      = regexp.MustCompile(`(?is)^\s*add\s+task\s*:?\s+(.+?)\s*$`)
	listTasksRe    = regexp.MustCompile(`(?i)^\s*list\s+tasks\s*[.!?]*\s*$`)
	completeTaskRe = regexp.MustCompile(`(?i)^\s*complete\s+task\s+#?(\d{1,9})\s*[.!?]*\s*$`)
)

const helpText = `I can keep a task list for you: try "add task <title>", "list tasks" or "complete task <n>".`

type taskStore interface {
	AddTask(ctx context.Context, owner, title string) (Task, error)
	ListTasks(ctx context.Context, owner string) ([]Task, error)
	CompleteTask(ctx context.Context, owner string, id int64) error
}

// assistantReply computes the reply to text for user; prev is the previous user message of the
// thread ("" when text is the first one). A nil store is an assistant without tasks.
func assistantReply(ctx context.Context, store taskStore, user, text, prev string) (string, error) {
	if store == nil {
		return quoteReply(text, prev, ""), nil
	}
	if m := addTaskRe.FindStringSubmatch(text); m != nil {
		title := truncateRunes(collapseSpace(unquote(m[1])), 200)
		if title != "" {
			if _, err := store.AddTask(ctx, user, title); err != nil {
				return "", err
			}
			return "Added task \"" + title + "\".", nil
		}
	}
	if listTasksRe.MatchString(text) {
		tasks, err := store.ListTasks(ctx, user)
		if err != nil {
			return "", err
		}
		if len(tasks) == 0 {
			return "You have no tasks.", nil
		}
		var b strings.Builder
		b.WriteString("Your tasks:")
		for i, t := range tasks {
			fmt.Fprintf(&b, "\n%d. %s", i+1, t.Title)
			if t.Completed {
				b.WriteString(" (done)")
			}
		}
		return b.String(), nil
	}
	if m := completeTaskRe.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1])
		tasks, err := store.ListTasks(ctx, user)
		if err != nil {
			return "", err
		}
		switch {
		case len(tasks) == 0:
			return "You have no tasks.", nil
		case n < 1 || n > len(tasks):
			return fmt.Sprintf("There is no task %d; you have %d %s.", n, len(tasks), plural(len(tasks), "task", "tasks")), nil
		case tasks[n-1].Completed:
			return fmt.Sprintf("Task %d \"%s\" is already completed.", n, tasks[n-1].Title), nil
		}
		if err := store.CompleteTask(ctx, user, tasks[n-1].ID); err != nil {
			return "", err
		}
		return fmt.Sprintf("Completed task %d: \"%s\".", n, tasks[n-1].Title), nil
	}
	return quoteReply(text, prev, " "+helpText), nil
}

// quoteReply is the reply to anything else: it quotes the message and the previous one.
func quoteReply(text, prev, help string) string {
	said := quoteForReply(text)
	if strings.TrimSpace(prev) == "" {
		return fmt.Sprintf("You said %s. This is the first message in this thread.%s", said, help)
	}
	return fmt.Sprintf("You said %s. Before that you said %s.%s", said, quoteForReply(prev), help)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func quoteForReply(s string) string {
	s = truncateRunes(collapseSpace(s), 200)
	if s == "" {
		return "nothing"
	}
	return `"` + s + `"`
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	for _, q := range [][2]string{{`"`, `"`}, {`'`, `'`}, {"“", "”"}} {
		if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
			return strings.TrimSpace(s[len(q[0]) : len(s)-len(q[1])])
		}
	}
	return s
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// titleFrom derives a thread title from the first user message ("" when it has no text).
func titleFrom(text string) string {
	return truncateRunes(collapseSpace(text), 60)
}

// splitDeltas cuts text into at least 3 (at most 24) pieces at word boundaries, falling back to
// rune boundaries for very short text. Joining the pieces gives text back exactly.
func splitDeltas(text string) []string {
	var words []string
	start := 0
	inSpace := false
	for i, r := range text {
		isSpace := r == ' ' || r == '\n' || r == '\t'
		if !isSpace && inSpace { // a word starts: close the previous token (word + trailing space)
			words = append(words, text[start:i])
			start = i
		}
		inSpace = isSpace
	}
	if start < len(text) {
		words = append(words, text[start:])
	}
	if len(words) < 3 {
		return splitRunes(text, 3)
	}
	k := min(len(words), 24)
	out := make([]string, 0, k)
	for i := range k {
		lo, hi := i*len(words)/k, (i+1)*len(words)/k
		out = append(out, strings.Join(words[lo:hi], ""))
	}
	return out
}

func splitRunes(text string, k int) []string {
	r := []rune(text)
	if len(r) < k {
		k = max(len(r), 1)
	}
	out := make([]string, 0, k)
	for i := range k {
		out = append(out, string(r[i*len(r)/k:(i+1)*len(r)/k]))
	}
	return out
}
