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
  switch (error) {
    case RosterError::contact_not_found:
      call.fail(kUserDoesNotExist, contact.bare_string());
      return;
    case RosterError::not_in_roster:
      if (not_in_roster.placeholder.empty()) {
        call.fail(not_in_roster);
      } else {
        call.fail(not_in_roster, contact.bare_string());
      }
      return;
    case RosterError::unavailable:
      call.fail(Failure::unavailable);
      return;
    case RosterError::internal:
      break;
  }
  call.fail(Failure::internal);
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

void get_contacts(const CallPtr& call) {
  call->with_backend([&](const Backend& backend) {
    backend.roster->async_items(call->user(), call->then([call](RosterItemsResult items) {
      if (!items) {
        call->fail(items.error());
        return;
      }
      JsonWriter writer;
      writer.begin_array();
      for (const auto& item : *items) {
        writer.begin_object()
            .member("jid", item.jid.bare_string())
            .member("subscription", to_string(item.subscription))
            .member("ask", to_string(item.ask))
            .end_object();
      }
      writer.end_array();
      call->respond_json(200, writer.take());
    }));
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
  Jid bare = contact->bare();
  call->with_backend([&](const Backend& backend) {
    backend.roster->async_add(call->user(), bare, call->then([call, bare](RosterResult added) {
      if (!added) {
        fail_roster(*call, added.error(), bare, kContactDoesNotExist);
        return;
      }
      call->respond_empty(204);
    }));
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
  Jid bare = std::move(*contact);
  // The item must exist first: subscribing to a stranger is not this route.
  call->with_backend([&](const Backend& backend) {
    backend.roster->async_items(
        call->user(), call->then([call, bare, invite](RosterItemsResult items) {
          if (!items) {
            call->fail(items.error());
            return;
          }
          bool listed = false;
          for (const auto& item : *items) {
            listed = listed || item.jid == bare;
          }
          if (!listed) {
            call->fail(kContactDoesNotExist);
            return;
          }
          call->with_backend([&](const Backend& b) {
            auto done = call->then([call, bare](RosterResult result) {
              if (!result) {
                fail_roster(*call, result.error(), bare, kContactDoesNotExist);
                return;
              }
              call->respond_empty(204);
            });
            if (invite) {
              b.roster->async_subscribe(call->user(), bare, std::move(done));
            } else {
              b.roster->async_approve(call->user(), bare, std::move(done));
            }
          });
        }));
  });
}

void delete_contact(const CallPtr& call) {
  auto contact = contact_param(*call);
  if (!contact) {
    return;
  }
  Jid bare = std::move(*contact);
  call->with_backend([&](const Backend& backend) {
    backend.roster->async_remove(call->user(), bare, call->then([call, bare](RosterResult removed) {
      if (!removed) {
        fail_roster(*call, removed.error(), bare, kCannotRemove);
        return;
      }
      call->respond_empty(204);
    }));
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
    call->with_backend([&](const Backend& backend) {
      backend.roster->async_remove(
          call->user(), batch->contacts[index],
          call->then([batch, index, handoff](RosterResult removed) {
            if (!removed && removed.error() == RosterError::not_in_roster) {
              batch->not_deleted[index] = true;
            } else if (!removed) {
              batch->failed = true;
              fail_roster(*batch->call, removed.error(), batch->contacts[index], kCannotRemove);
            }
            batch->next = index + 1;
            if (handoff->exchange(1) == 2 && !batch->failed) {
              continue_batch(batch);  // completed later: this thread goes on
            }
          }));
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

}  // namespace

const RouteGroup& contacts_group() {
  static const RouteGroup group{
      "contacts",
      [](const ApiConfig&, const Backend& backend) { return backend.roster != nullptr; },
      true,
      true,
      {{"jid", "path", "string", "The contact's bare JID (percent-encoded)"}},
      {
          {"/contacts",
           "application/json",
           {{"GET",
             get_contacts,
             "The user's contacts (roster)",
             "",
             200,
             "The contacts",
             R"({"type":"array","items":{"$ref":"#/components/schemas/Contact"}})",
             {}},
            {"POST",
             post_contact,
             "Add a contact (no subscription)",
             R"({"type":"object","required":["jid"],"properties":{"jid":{"type":"string"}}})",
             204,
             "Added",
             "",
             {&common_errors::invalid_body, &kMissingJid, &kInvalidJid, &kUserDoesNotExist}},
            {"PUT",
             put_contact_without_jid,
             "Invite or accept: the contact's JID is missing here",
             "",
             400,
             "Always",
             "",
             {&kMissingJid}},
            {"DELETE",
             delete_contacts,
             "Remove several contacts",
             R"({"type":"object","required":["to_delete"],"properties":{"to_delete":{)"
             R"("type":"array","items":{"type":"string"}}}})",
             200,
             "The contacts that were not in the roster",
             R"({"type":"object","properties":{"not_deleted":{"type":"array",)"
             R"("items":{"type":"string"}}}})",
             {&common_errors::invalid_body, &kMissingToDelete, &kInvalidToDelete, &kInvalidJid}}}},
          {"/contacts/{jid}",
           "application/json",
           {{"GET", get_contact, "Not supported", "", 404, "Always", "", {&kNotSupported}},
            {"PUT",
             put_contact,
             "Invite a contact or accept their invitation",
             R"({"type":"object","required":["action"],"properties":{"action":{)"
             R"("type":"string","enum":["invite","accept"]}}})",
             204,
             "Done",
             "",
             {&kInvalidJid, &common_errors::invalid_body, &kMissingAction, &kInvalidAction,
              &kContactDoesNotExist, &kUserDoesNotExist}},
            {"DELETE",
             delete_contact,
             "Remove a contact and its subscriptions",
             "",
             204,
             "Removed",
             "",
             {&kInvalidJid, &kCannotRemove}}}},
      }};
  return group;
}

}  // namespace mimrest::detail
