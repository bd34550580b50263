// The contacts group: the user's roster (RFC 6121), with MongooseIM's
// messages for the error cases.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/api/call.hpp"
#include "core/detail/json_writer.hpp"

namespace mimrest::detail {

namespace {

constexpr ApiError kMissingJid{400, "Missing JID"};
constexpr ApiError kInvalidJid{400, "Invalid JID: ", "<jid>"};
constexpr ApiError kMissingAction{400, "Missing action"};
constexpr ApiError kInvalidAction{400, "Invalid action"};
constexpr ApiError kMissingToDelete{400, "Missing to_delete"};
constexpr ApiError kInvalidToDelete{400, "Invalid to_delete: expected a list of JIDs"};
constexpr ApiError kNotSupported{404, "JID provided but not supported"};
constexpr ApiError kUserDoesNotExist{404, "The user ", "<jid>", " does not exist"};
constexpr ApiError kContactDoesNotExist{404, "Given contact does not exist"};
constexpr ApiError kCannotRemove{404, "Cannot remove ", "<jid>", " contact that does not exist"};

/// Answers a roster error; `not_in_roster` is the endpoint's own answer.
void fail_roster(Call& call, RosterError error, const Jid& contact, const ApiError& not_in_roster) {
  if (error == RosterError::contact_not_found) {
    call.fail(kUserDoesNotExist, contact.bare_string());
  } else if (not_in_roster.placeholder.empty()) {
    call.fail(not_in_roster);
  } else {
    call.fail(not_in_roster, contact.bare_string());
  }
}

/// The {jid} path parameter as a bare JID; nullopt after answering 400.
std::optional<Jid> contact_param(Call& call) {
  std::string_view given = call.param("jid").value_or(std::string_view());
  auto contact = Jid::parse(given);
  if (!contact) {
    call.fail(kInvalidJid, given);
    return std::nullopt;
  }
  return contact->bare();
}

/// Runs a roster change and answers 204, or the roster error.
template <class Start>
void change_roster(const CallPtr& call, const Jid& contact, const ApiError& not_in_roster,
                   Start&& start) {
  call->await<RosterResult>(
      std::forward<Start>(start), [call] { call->respond_empty(204); },
      [call, contact, &not_in_roster](RosterError error) {
        fail_roster(*call, error, contact, not_in_roster);
      });
}

void get_contacts(const CallPtr& call) {
  call->await<RosterItemsResult>(
      [&](const Backend& backend, auto done) { backend.roster->async_items(call->user(), done); },
      [call](const std::vector<RosterItem>& items) {
        JsonWriter writer;
        writer.begin_array();
        for (const auto& item : items) {
          writer.begin_object()
              .member("jid", item.jid.bare_string())
              .member("subscription", to_string(item.subscription))
              .member("ask", to_string(item.ask))
              .end_object();
        }
        writer.end_array();
        call->respond_json(200, writer.take());
      });
}

void get_contact(const CallPtr& call) {
  call->fail(kNotSupported);
}

void post_contact(const CallPtr& call) {
  auto document = parse_json_object(*call);
  if (!document) {
    return;
  }
  const rapidjson::Value* member = find_member(*document, "jid");
  if (member == nullptr) {
    call->fail(kMissingJid);
    return;
  }
  const std::string given = as_given(*member);
  auto contact = Jid::parse(given);
  if (!member->IsString() || !contact) {
    call->fail(kInvalidJid, given);
    return;
  }
  const Jid bare = contact->bare();
  change_roster(call, bare, kContactDoesNotExist, [&](const Backend& backend, auto done) {
    backend.roster->async_add(call->user(), bare, done);
  });
}

// PUT /contacts: MongooseIM's route is /contacts/[:jid], so the JID is
// missing rather than the method wrong.
void put_contact_without_jid(const CallPtr& call) {
  call->fail(kMissingJid);
}

void put_contact(const CallPtr& call) {
  auto contact = contact_param(*call);
  if (!contact) {
    return;
  }
  auto document = parse_json_object(*call);
  if (!document) {
    return;
  }
  if (!document->HasMember("action")) {
    call->fail(kMissingAction);
    return;
  }
  auto action = string_member(*document, "action");
  const bool invite = action && *action == "invite";
  const bool accept = action && *action == "accept";
  if (!invite && !accept) {
    call->fail(kInvalidAction);
    return;
  }
  // The item must exist first: subscribing to a stranger is not this route.
  call->await<RosterItemsResult>(
      [&](const Backend& backend, auto done) { backend.roster->async_items(call->user(), done); },
      [call, bare = std::move(*contact), invite](const std::vector<RosterItem>& items) {
        bool listed = false;
        for (const auto& item : items) {
          listed = listed || item.jid == bare;
        }
        if (!listed) {
          call->fail(kContactDoesNotExist);
          return;
        }
        change_roster(call, bare, kContactDoesNotExist, [&](const Backend& b, auto done) {
          if (invite) {
            b.roster->async_subscribe(call->user(), bare, done);
          } else {
            b.roster->async_approve(call->user(), bare, done);
          }
        });
      });
}

void delete_contact(const CallPtr& call) {
  auto contact = contact_param(*call);
  if (!contact) {
    return;
  }
  const Jid bare = std::move(*contact);
  change_roster(call, bare, kCannotRemove, [&](const Backend& backend, auto done) {
    backend.roster->async_remove(call->user(), bare, done);
  });
}

/// DELETE /contacts removes its contacts one after the other, in order. A
/// backend that completes inline would nest one call per contact; the loop
/// below continues on the caller's stack instead, so a long list cannot
/// exhaust the stack.
struct BatchRemoval {
  CallPtr call;
  std::vector<Jid> contacts;
  std::vector<bool> not_deleted;
  std::size_t next = 0;
  bool failed = false;
};

void finish_batch(const std::shared_ptr<BatchRemoval>& batch) {
  JsonWriter writer;
  writer.begin_object().key("not_deleted").begin_array();
  for (std::size_t i = 0; i < batch->contacts.size(); ++i) {
    if (batch->not_deleted[i]) {
      writer.string(batch->contacts[i].bare_string());
    }
  }
  writer.end_array().end_object();
  batch->call->respond_json(200, writer.take());
}

void continue_batch(const std::shared_ptr<BatchRemoval>& batch) {
  const CallPtr& call = batch->call;
  while (batch->next < batch->contacts.size()) {
    const std::size_t index = batch->next;
    // 0: pending; 1: the completion ran first; 2: this loop moved on first.
    auto handoff = std::make_shared<std::atomic<int>>(0);
    auto moved_on = [batch, index, handoff] {
      batch->next = index + 1;
      if (handoff->exchange(1) == 2 && !batch->failed) {
        continue_batch(batch);  // completed later: this thread goes on
      }
    };
    call->await<RosterResult>(
        [&](const Backend& backend, auto done) {
          backend.roster->async_remove(call->user(), batch->contacts[index], done);
        },
        moved_on,
        [batch, index, moved_on](RosterError error) {
          if (error == RosterError::not_in_roster) {
            batch->not_deleted[index] = true;
          } else {
            batch->failed = true;
            fail_roster(*batch->call, error, batch->contacts[index], kCannotRemove);
          }
          moved_on();
        });
    if (handoff->exchange(2) != 1 || batch->failed) {
      return;  // completes later (or the call was answered): its thread goes on
    }
  }
  finish_batch(batch);
}

void delete_contacts(const CallPtr& call) {
  auto document = parse_json_object(*call);
  if (!document) {
    return;
  }
  const rapidjson::Value* list = find_member(*document, "to_delete");
  if (list == nullptr) {
    call->fail(kMissingToDelete);
    return;
  }
  if (!list->IsArray()) {
    call->fail(kInvalidToDelete);
    return;
  }
  // Every entry is validated before anything is removed.
  auto batch = std::make_shared<BatchRemoval>();
  batch->call = call;
  for (const auto& entry : list->GetArray()) {
    if (!entry.IsString()) {
      call->fail(kInvalidToDelete);
      return;
    }
    std::string_view given(entry.GetString(), entry.GetStringLength());
    auto contact = Jid::parse(given);
    if (!contact) {
      call->fail(kInvalidJid, given);
      return;
    }
    batch->contacts.push_back(contact->bare());
  }
  batch->not_deleted.assign(batch->contacts.size(), false);
  continue_batch(batch);
}

RouteGroup declare() {
  RouteGroup group("contacts");
  group.needs(&Backend::roster).param("jid", "The contact's bare JID (percent-encoded)");
  group.schema("Contact",
               R"({"type": "object", "required": ["jid", "subscription", "ask"], "properties": {
    "jid": {"type": "string"},
    "subscription": {"type": "string", "enum": ["none", "to", "from", "both"]},
    "ask": {"type": "string", "enum": ["none", "in", "out", "both"]}}})");

  group.get("/contacts", get_contacts)
      .summary("The user's contacts (roster)")
      .returns(200, "The contacts",
               R"({"type":"array","items":{"$ref":"#/components/schemas/Contact"}})");
  group.post("/contacts", post_contact)
      .summary("Add a contact (no subscription)")
      .body(R"({"type":"object","required":["jid"],"properties":{"jid":{"type":"string"}}})")
      .returns(204, "Added")
      .errors({&common_errors::invalid_body, &kMissingJid, &kInvalidJid, &kUserDoesNotExist,
               &kContactDoesNotExist});
  group.put("/contacts", put_contact_without_jid)
      .summary("Invite or accept: the contact's JID is missing here")
      .returns(400, "Always")
      .errors({&kMissingJid});
  group.del("/contacts", delete_contacts)
      .summary("Remove several contacts")
      .body(R"({"type":"object","required":["to_delete"],"properties":{"to_delete":{)"
            R"("type":"array","items":{"type":"string"}}}})")
      .returns(200, "The contacts that were not in the roster",
               R"({"type":"object","properties":{"not_deleted":{"type":"array",)"
               R"("items":{"type":"string"}}}})")
      .errors({&common_errors::invalid_body, &kMissingToDelete, &kInvalidToDelete, &kInvalidJid,
               &kUserDoesNotExist});

  group.get("/contacts/{jid}", get_contact)
      .summary("Not supported")
      .returns(404, "Always")
      .errors({&kNotSupported});
  group.put("/contacts/{jid}", put_contact)
      .summary("Invite a contact or accept their invitation")
      .body(R"({"type":"object","required":["action"],"properties":{"action":{)"
            R"("type":"string","enum":["invite","accept"]}}})")
      .returns(204, "Done")
      .errors({&kInvalidJid, &common_errors::invalid_body, &kMissingAction, &kInvalidAction,
               &kContactDoesNotExist, &kUserDoesNotExist});
  group.del("/contacts/{jid}", delete_contact)
      .summary("Remove a contact and its subscriptions")
      .returns(204, "Removed")
      .errors({&kInvalidJid, &kCannotRemove, &kUserDoesNotExist});
  return group;
}

}  // namespace

const RouteGroup& contacts_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
