package chatkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// apiError is a JSON error answer {"error": msg}.
type apiError struct {
	status int
	msg    string
	// uvicorn answers the way writeUvicorn500 does (the not-found-500 fault).
	uvicorn bool
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// The request types this backend implements.
const (
	typeThreadsCreate   = "threads.create"
	typeAddUserMessage  = "threads.add_user_message"
	typeThreadsGetByID  = "threads.get_by_id"
	typeThreadsList     = "threads.list"
	typeItemsList       = "items.list"
	typeThreadsUpdate   = "threads.update"
	typeThreadsDelete   = "threads.delete"
	defaultPageLimit    = 20
	maxPageLimit        = 100
	getByIDItemsInPage  = 20
	maxTitleRunes       = 500
	maxMessageTextRunes = 20000
)

var supportedTypes = []string{
	typeThreadsCreate, typeAddUserMessage, typeThreadsGetByID, typeThreadsList, typeItemsList,
	typeThreadsUpdate, typeThreadsDelete,
}

// Other ChatKit protocol types: answered 400 "not supported" rather than "unknown".
var unsupportedTypes = []string{
	"threads.add_client_tool_output", "threads.retry_after_item", "threads.custom_action",
	"threads.add_structured_input", "threads.sync_custom_action", "items.feedback",
	"attachments.create", "attachments.delete", "input.transcribe",
}

type envelope struct {
	Type   string
	Params json.RawMessage
}

func parseEnvelope(body []byte) (envelope, *apiError) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || len(strings.TrimSpace(string(body))) == 0 {
			return envelope{}, badRequest("Malformed JSON body")
		}
		return envelope{}, badRequest("Request body must be a JSON object")
	}
	if raw == nil {
		return envelope{}, badRequest("Request body must be a JSON object")
	}
	var env envelope
	t, ok := raw["type"]
	if !ok || isNull(t) {
		return env, badRequest("Missing required field: type")
	}
	if err := json.Unmarshal(t, &env.Type); err != nil {
		return env, badRequest("Invalid field type: must be a string")
	}
	if !slices.Contains(supportedTypes, env.Type) {
		if slices.Contains(unsupportedTypes, env.Type) {
			return env, badRequest("Unsupported request type: %s", env.Type)
		}
		return env, badRequest("Unknown request type: %s", truncateRunes(env.Type, 100))
	}
	p, ok := raw["params"]
	if !ok || isNull(p) {
		return env, badRequest("Missing required field: params")
	}
	if trimmed := strings.TrimSpace(string(p)); !strings.HasPrefix(trimmed, "{") {
		return env, badRequest("Invalid field params: must be an object")
	}
	env.Params = p
	return env, nil
}

func isNull(m json.RawMessage) bool { return strings.TrimSpace(string(m)) == "null" }

// decodeParams decodes params into v, turning JSON type errors into a 400 naming the field.
func decodeParams(params json.RawMessage, v any) *apiError {
	if err := json.Unmarshal(params, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest("Invalid field params.%s: expected %s", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return badRequest("Invalid params: %v", err)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64":
		return "an integer"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "another type"
}

func requireThreadID(id *string) (string, *apiError) {
	if id == nil || *id == "" {
		return "", badRequest("Missing required field: params.thread_id")
	}
	return *id, nil
}

type pageIn struct {
	Limit *int    `json:"limit"`
	Order *string `json:"order"`
	After *string `json:"after"`
}

func (p pageIn) params(defaultDesc bool) (pageParams, *apiError) {
	out := pageParams{Limit: defaultPageLimit, Desc: defaultDesc}
	if p.Limit != nil {
		switch {
		case *p.Limit < 0:
			return out, badRequest("Invalid field params.limit: must not be negative")
		case *p.Limit > maxPageLimit:
			out.Limit = maxPageLimit
		case *p.Limit > 0:
			out.Limit = *p.Limit
		}
	}
	if p.Order != nil {
		switch *p.Order {
		case "asc":
			out.Desc = false
		case "desc":
			out.Desc = true
		default:
			return out, badRequest(`Invalid field params.order: must be "asc" or "desc"`)
		}
	}
	if p.After != nil {
		out.After = *p.After
	}
	return out, nil
}

// User message input (UserMessageInput): content, attachments and inference_options are required,
// as in the ChatKit SDK.

type contentIn struct {
	Type        *string         `json:"type"`
	Text        *string         `json:"text"`
	ID          *string         `json:"id"`
	Data        json.RawMessage `json:"data"`
	Group       *string         `json:"group"`
	Interactive *bool           `json:"interactive"`
}

type messageIn struct {
	Content          *[]contentIn      `json:"content"`
	Attachments      *[]string         `json:"attachments"`
	QuotedText       *string           `json:"quoted_text"`
	InferenceOptions *InferenceOptions `json:"inference_options"`
}

// userItem validates the input and builds the user_message item for thread threadID.
func (m *messageIn) userItem(threadID string) (Item, *apiError) {
	if m == nil {
		return Item{}, badRequest("Missing required field: params.input")
	}
	if m.Content == nil {
		return Item{}, badRequest("Missing required field: params.input.content")
	}
	if m.Attachments == nil {
		return Item{}, badRequest("Missing required field: params.input.attachments")
	}
	if m.InferenceOptions == nil {
		return Item{}, badRequest("Missing required field: params.input.inference_options")
	}
	if len(*m.Attachments) > 0 {
		return Item{}, badRequest("Attachments are not supported: params.input.attachments must be empty")
	}
	it := Item{
		ID:               newID("msg"),
		ThreadID:         threadID,
		CreatedAt:        now(),
		Type:             itemUserMessage,
		UserContent:      []UserContent{},
		QuotedText:       m.QuotedText,
		InferenceOptions: *m.InferenceOptions,
	}
	for i, c := range *m.Content {
		field := fmt.Sprintf("params.input.content[%d]", i)
		if c.Type == nil {
			return Item{}, badRequest("Missing required field: %s.type", field)
		}
		if c.Text == nil {
			return Item{}, badRequest("Missing required field: %s.text", field)
		}
		uc := UserContent{Type: *c.Type, Text: *c.Text}
		switch *c.Type {
		case "input_text":
		case "input_tag":
			if c.ID == nil {
				return Item{}, badRequest("Missing required field: %s.id", field)
			}
			uc.ID, uc.Data, uc.Group = *c.ID, c.Data, c.Group
			if c.Data != nil && !strings.HasPrefix(strings.TrimSpace(string(c.Data)), "{") && !isNull(c.Data) {
				return Item{}, badRequest("Invalid field %s.data: expected an object", field)
			}
			if c.Interactive != nil {
				uc.Interactive = *c.Interactive
			}
		default:
			return Item{}, badRequest(`Invalid field %s.type: must be "input_text" or "input_tag"`, field)
		}
		it.UserContent = append(it.UserContent, uc)
	}
	if len([]rune(it.Text())) > maxMessageTextRunes {
		return Item{}, badRequest("Message too long: at most %d characters", maxMessageTextRunes)
	}
	return it, nil
}
