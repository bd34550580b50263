#!/usr/bin/python3
"""An ordinary XMPP client for the gateway's tests, driven through stdin/stdout.

    peer.py --host H --port P --jid alice@localhost --password secret
            [--resource R] [--tls] [--ca FILE] [--mech SCRAM-SHA-1]
            [--timeout S] [--notify NODE]... [--debug]

The other party of a conversation with a REST user: an independent client
library (slixmpp, Debian's python3-slixmpp), never the gateway's code. Once
online (roster fetched, initial presence sent) it prints {"event": "ready"};
then one JSON object per line for everything it receives, and one reply per
command it reads on stdin (one JSON object per line, answered by
{"reply": <its id>, "ok": true|false, ...}). Every command has a timeout
("timeout" in the command, default 10 s) and answers with an error rather
than hang. The process exits when stdin closes, after a "disconnect"
command, or (exit code 1, {"event": "failed"}) when it cannot log in.

The events and commands are listed in tests/xmpp/README.md.

Subscription requests are never answered automatically (the test decides).
Plain TCP by default (the test servers allow SCRAM without TLS on
loopback); --tls requires STARTTLS and verifies the certificate against
--ca for the JID's domain.
"""
import argparse
import asyncio
import json
import logging
import os
import sys
import threading
import uuid
import xml.etree.ElementTree as ET

try:
    import slixmpp
    from slixmpp.xmlstream import tostring
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
except ImportError:  # pragma: no cover - reported to the driver
    print(json.dumps({"event": "failed", "error": "python3-slixmpp is not installed"}), flush=True)
    sys.exit(1)

NS_CLIENT = "jabber:client"
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner"
NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_FORWARD = "urn:xmpp:forward:0"
NS_DELAY = "urn:xmpp:delay"
NS_DATA = "jabber:x:data"
NS_SID = "urn:xmpp:sid:0"
NS_ROSTER = "jabber:iq:roster"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event"
NS_BOOKMARKS = "urn:xmpp:bookmarks:1"
NS_PROPERTIES = "http://www.jivesoftware.com/xmlns/xmpp/properties"
NS_CARBONS = "urn:xmpp:carbons:2"
NS_CONFERENCE = "jabber:x:conference"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_PING = "urn:xmpp:ping"

DEFAULT_TIMEOUT = 10.0


def q(ns, tag):
    return "{%s}%s" % (ns, tag)


class CommandError(Exception):
    """A command that failed: its reply carries these fields."""

    def __init__(self, error, **fields):
        super().__init__(error)
        self.fields = dict(fields, error=error)


def bare(jid):
    return str(jid).split("/", 1)[0]


def resource(jid):
    parts = str(jid).split("/", 1)
    return parts[1] if len(parts) > 1 else None


def child_text(element, tag):
    found = element.find(tag)
    return found.text if found is not None and found.text is not None else None


def stanza_error(element):
    """The condition, type and text of a stanza's <error/>, or None."""
    error = element.find(q(NS_CLIENT, "error"))
    if error is None:
        return None
    condition = None
    text = None
    for child in error:
        if child.tag == q(NS_STANZAS, "text"):
            text = child.text
        elif child.tag.startswith("{%s}" % NS_STANZAS):
            condition = child.tag.split("}", 1)[1]
    return {"condition": condition, "type": error.get("type"), "text": text}


# Smack properties (http://www.jivesoftware.com/xmlns/xmpp/properties).
def parse_properties(message):
    props = message.find(q(NS_PROPERTIES, "properties"))
    if props is None:
        return None, None
    values = {}
    types = {}
    for prop in props.findall(q(NS_PROPERTIES, "property")):
        name = child_text(prop, q(NS_PROPERTIES, "name"))
        value_element = prop.find(q(NS_PROPERTIES, "value"))
        if name is None or value_element is None:
            continue
        kind = value_element.get("type", "string")
        text = value_element.text or ""
        try:
            if kind in ("integer", "long"):
                value = int(text)
            elif kind in ("float", "double"):
                value = float(text)
            elif kind == "boolean":
                value = text.strip().lower() == "true"
            else:
                value = text
        except ValueError:
            value = text
        values[name] = value
        types[name] = kind
    return values, types


def properties_element(properties):
    """<properties/> from {"name": value} (type inferred) or a list of
    {"name", "type", "value"}."""
    if isinstance(properties, dict):
        items = []
        for name, value in properties.items():
            if isinstance(value, bool):
                kind, text = "boolean", "true" if value else "false"
            elif isinstance(value, int):
                kind, text = "integer", str(value)
            elif isinstance(value, float):
                kind, text = "double", repr(value)
            else:
                kind, text = "string", str(value)
            items.append({"name": name, "type": kind, "value": text})
    else:
        items = properties
    root = ET.Element(q(NS_PROPERTIES, "properties"))
    for item in items:
        prop = ET.SubElement(root, q(NS_PROPERTIES, "property"))
        ET.SubElement(prop, q(NS_PROPERTIES, "name")).text = str(item["name"])
        value = item.get("value")
        if isinstance(value, bool):
            value = "true" if value else "false"
        value_element = ET.SubElement(prop, q(NS_PROPERTIES, "value"))
        value_element.set("type", item.get("type", "string"))
        value_element.text = "" if value is None else str(value)
    return root


def message_fields(message):
    """The JSON of a <message/> element (chat, groupchat, archived...)."""
    fields = {
        "type": message.get("type", "normal"),
        "from": message.get("from"),
        "to": message.get("to"),
        "id": message.get("id"),
    }
    body = child_text(message, q(NS_CLIENT, "body"))
    if body is not None:
        fields["body"] = body
    subject = message.find(q(NS_CLIENT, "subject"))
    if subject is not None:
        fields["subject"] = subject.text or ""
    thread = message.find(q(NS_CLIENT, "thread"))
    if thread is not None:
        fields["thread"] = thread.text
        if thread.get("parent") is not None:
            fields["parent"] = thread.get("parent")
    values, types = parse_properties(message)
    if values is not None:
        fields["properties"] = values
        fields["property_types"] = types
    for sid in message.findall(q(NS_SID, "stanza-id")):
        fields.setdefault("stanza_ids", {})[sid.get("by")] = sid.get("id")
    origin = message.find(q(NS_SID, "origin-id"))
    if origin is not None:
        fields["origin_id"] = origin.get("id")
    delay = message.find(q(NS_DELAY, "delay"))
    if delay is not None:
        fields["delay"] = delay.get("stamp")
    error = stanza_error(message)
    if error is not None:
        fields["error"] = error
    return fields


def form_fields(form):
    """{var: {"type", "label", "value" (str, bool-ish str or list), "options"}}."""
    result = {}
    for field in form.findall(q(NS_DATA, "field")):
        var = field.get("var")
        if var is None:
            continue
        kind = field.get("type", "text-single")
        values = [v.text or "" for v in field.findall(q(NS_DATA, "value"))]
        value = values if kind.endswith("-multi") else (values[0] if values else None)
        entry = {"type": kind, "value": value}
        if field.get("label"):
            entry["label"] = field.get("label")
        options = [o.findtext(q(NS_DATA, "value")) for o in field.findall(q(NS_DATA, "option"))]
        if options:
            entry["options"] = options
        result[var] = entry
    return result


def submit_form(form_type, values):
    form = ET.Element(q(NS_DATA, "x"), {"type": "submit"})
    field = ET.SubElement(form, q(NS_DATA, "field"), {"var": "FORM_TYPE", "type": "hidden"})
    ET.SubElement(field, q(NS_DATA, "value")).text = form_type
    for var, value in values.items():
        field = ET.SubElement(form, q(NS_DATA, "field"), {"var": var})
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                item = "1" if item else "0"
            ET.SubElement(field, q(NS_DATA, "value")).text = "" if item is None else str(item)
    return form


def roster_item(item):
    return {
        "jid": item.get("jid"),
        "subscription": item.get("subscription", "none"),
        "ask": item.get("ask"),
        "name": item.get("name"),
        "groups": [g.text or "" for g in item.findall(q(NS_ROSTER, "group"))],
    }


def bookmark_item(item):
    conference = item.find(q(NS_BOOKMARKS, "conference"))
    result = {"jid": item.get("id")}
    if conference is not None:
        result["name"] = conference.get("name")
        result["autojoin"] = conference.get("autojoin") in ("true", "1")
        result["nick"] = child_text(conference, q(NS_BOOKMARKS, "nick"))
        result["password"] = child_text(conference, q(NS_BOOKMARKS, "password"))
    return result


class Peer(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid if "/" in args.jid else "%s/%s" % (args.jid, args.resource),
                         args.password, sasl_mech=args.mech)
        self.args = args
        self.ready = False
        self.was_ready = False
        self.online = asyncio.Event()
        self.closing = False
        self.out_lock = threading.Lock()
        self.mam_results = {}       # queryid -> list of result messages
        self.joins = {}             # room bare jid -> future (self-presence)
        self.leaves = {}            # room bare jid -> future
        self.reflections = {}       # (room, id) -> future
        self.rooms = {}             # room bare jid -> our nick
        self.subjects = {}          # room bare jid -> (subject, future)
        self.roster.auto_authorize = None   # subscriptions: the test decides
        self.roster.auto_subscribe = False
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        if args.notify:
            # PEP notifications (e.g. of urn:xmpp:bookmarks:1) are sent to
            # clients that advertise NODE+notify in their capabilities.
            self.register_plugin("xep_0115")
            for node in args.notify:
                self["xep_0030"].add_feature(node + "+notify")
            # A feature of this process alone: the capabilities hash is new
            # to the server, which then always asks what it means (below).
            self["xep_0030"].add_feature("urn:mimrest:test-peer:" + uuid.uuid4().hex)
        if args.ca:
            self.ca_certs = args.ca
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("connection_failed", self.on_connection_failed)
        self.register_handler(Callback("peer messages", MatchXPath("{%s}message" % NS_CLIENT),
                                       self.on_message))
        self.register_handler(Callback("peer presences", MatchXPath("{%s}presence" % NS_CLIENT),
                                       self.on_presence))
        self.caps_queried = None
        self.register_handler(Callback(
            "peer disco queries", MatchXPath("{%s}iq/{%s}query" % (
                NS_CLIENT, "http://jabber.org/protocol/disco#info")), self.on_disco_info))
        self.register_handler(Callback(
            "peer roster pushes", MatchXPath("{%s}iq/{%s}query" % (NS_CLIENT, NS_ROSTER)),
            self.on_roster_iq))

    # ---- output --------------------------------------------------------------------------
    def emit(self, obj):
        line = json.dumps(obj, ensure_ascii=False)
        with self.out_lock:
            try:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):
                os._exit(0)

    # ---- session -------------------------------------------------------------------------
    async def on_session_start(self, _event):
        try:
            await self.get_roster(timeout=self.args.timeout)
        except Exception as error:  # noqa: BLE001 - reported, not fatal
            self.emit({"event": "error", "stanza": "iq", "text": "roster: %s" % error})
        if self.args.notify:
            await self["xep_0115"].update_caps(broadcast=False)
            self.caps_queried = asyncio.Event()
        self.send_presence()
        if self.args.notify:
            # The server learns what the capabilities mean by asking for
            # them (disco#info): notifications flow once it had the answer.
            try:
                await asyncio.wait_for(self.caps_queried.wait(), 5.0)
                await asyncio.sleep(0.2)  # the answer is on its way
            except asyncio.TimeoutError:
                self.emit({"event": "error", "stanza": "iq",
                           "text": "the server did not ask for our capabilities"})
        self.ready = True
        self.was_ready = True
        self.online.set()
        self.emit({"event": "ready", "jid": str(self.boundjid)})

    def on_failed_auth(self, _event):
        self.emit({"event": "failed", "error": "not-authorized"})
        self.closing = True
        os._exit(1)

    def on_connection_failed(self, error):
        if not self.ready:
            self.emit({"event": "failed", "error": "connection failed: %s" % error})
            os._exit(1)

    def on_disconnected(self, reason):
        if self.closing:
            os._exit(0)  # stdin closed or "disconnect": the stream is closed
        if not self.was_ready:
            # Lost before logging in (e.g. a certificate refused): no retry.
            self.emit({"event": "failed", "error": "disconnected: %s" % (reason or "")})
            os._exit(1)
        self.ready = False
        self.online.clear()
        self.emit({"event": "disconnected", "reason": str(reason or "")})

    # ---- incoming ------------------------------------------------------------------------
    def on_message(self, stanza):
        message = stanza.xml
        # MAM results belong to a query.
        result = message.find(q(NS_MAM, "result"))
        if result is not None:
            collected = self.mam_results.get(result.get("queryid"))
            if collected is not None:
                collected.append(result)
            return
        carbon = None
        for direction in ("received", "sent"):
            carbon = message.find(q(NS_CARBONS, direction))
            if carbon is not None:
                inner = carbon.find("%s/%s" % (q(NS_FORWARD, "forwarded"), q(NS_CLIENT, "message")))
                if inner is not None:
                    self.emit(dict(message_fields(inner), event="carbon", direction=direction))
                return
        event = message.find(q(NS_PUBSUB_EVENT, "event"))
        if event is not None:
            self.on_pubsub_event(message, event)
            return
        muc_user = message.find(q(NS_MUC_USER, "x"))
        if muc_user is not None and muc_user.find(q(NS_MUC_USER, "invite")) is not None:
            invite = muc_user.find(q(NS_MUC_USER, "invite"))
            self.emit({"event": "invite", "room": bare(message.get("from")),
                       "from": invite.get("from"),
                       "reason": child_text(invite, q(NS_MUC_USER, "reason")),
                       "password": child_text(muc_user, q(NS_MUC_USER, "password")),
                       "direct": False})
            return
        direct = message.find(q(NS_CONFERENCE, "x"))
        if direct is not None:
            self.emit({"event": "invite", "room": direct.get("jid"), "from": message.get("from"),
                       "reason": direct.get("reason"), "password": direct.get("password"),
                       "direct": True})
            return
        fields = message_fields(message)
        kind = fields["type"]
        if kind == "error":
            self.emit(dict(fields, event="error", stanza="message"))
            return
        if kind == "groupchat":
            room = bare(fields["from"])
            fields.update(event="groupchat", room=room, nick=resource(fields["from"]))
            key = (room, fields.get("id"))
            future = self.reflections.pop(key, None)
            if future is not None and not future.done() and \
                    fields["nick"] == self.rooms.get(room):
                future.set_result(fields)
            if "subject" in fields and "body" not in fields:
                fields["event"] = "subject"
                waiting = self.subjects.get(room)
                if waiting is not None and waiting[0] == fields["subject"] and \
                        fields["nick"] == self.rooms.get(room) and not waiting[1].done():
                    waiting[1].set_result(fields)
            self.emit(fields)
            return
        if "body" not in fields and "properties" not in fields and "subject" not in fields:
            return  # chat states, receipts, markers: not reported
        self.emit(dict(fields, event="message"))

    def on_pubsub_event(self, message, event):
        for items in event.findall(q(NS_PUBSUB_EVENT, "items")):
            node = items.get("node")
            published = []
            for item in items.findall(q(NS_PUBSUB_EVENT, "item")):
                if node == NS_BOOKMARKS:
                    published.append(bookmark_item(item))
                    continue
                published.append({"id": item.get("id")})
            retracted = [r.get("id") for r in items.findall(q(NS_PUBSUB_EVENT, "retract"))]
            self.emit({"event": "pubsub", "from": message.get("from"), "node": node,
                       "items": published, "retracted": retracted})

    def on_presence(self, stanza):
        presence = stanza.xml
        kind = presence.get("type", "available")
        sender = presence.get("from") or ""
        room = bare(sender)
        muc_user = presence.find(q(NS_MUC_USER, "x"))
        if kind in ("subscribe", "subscribed", "unsubscribe", "unsubscribed"):
            self.emit({"event": kind, "from": room,
                       "status": child_text(presence, q(NS_CLIENT, "status"))})
            return
        if kind == "error":
            error = stanza_error(presence)
            future = self.joins.pop(room, None)
            if future is not None and not future.done():
                future.set_exception(CommandError(error.get("condition") or "error",
                                                  text=error.get("text")))
                return
            self.emit({"event": "error", "stanza": "presence", "from": sender,
                       **(error or {})})
            return
        if muc_user is not None:
            item = muc_user.find(q(NS_MUC_USER, "item"))
            codes = sorted(int(s.get("code")) for s in muc_user.findall(q(NS_MUC_USER, "status"))
                           if s.get("code", "").isdigit())
            fields = {"event": "muc_presence", "room": room, "nick": resource(sender),
                      "type": kind, "codes": codes,
                      "affiliation": item.get("affiliation") if item is not None else None,
                      "role": item.get("role") if item is not None else None,
                      "jid": item.get("jid") if item is not None else None}
            self_presence = 110 in codes
            if self_presence and kind == "available":
                future = self.joins.pop(room, None)
                if future is not None and not future.done():
                    future.set_result(fields)
            if self_presence and kind == "unavailable":
                self.rooms.pop(room, None)
                future = self.leaves.pop(room, None)
                if future is not None and not future.done():
                    future.set_result(fields)
            self.emit(fields)
            return
        self.emit({"event": "presence", "from": sender, "type": kind,
                   "show": child_text(presence, q(NS_CLIENT, "show")),
                   "status": child_text(presence, q(NS_CLIENT, "status"))})

    def on_disco_info(self, stanza):
        # slixmpp answers; this only notes that the server asked.
        if stanza.xml.get("type") == "get" and self.caps_queried is not None:
            self.caps_queried.set()

    def on_roster_iq(self, stanza):
        iq = stanza.xml
        if iq.get("type") != "set":
            return
        for item in iq.findall("%s/%s" % (q(NS_ROSTER, "query"), q(NS_ROSTER, "item"))):
            self.emit(dict(roster_item(item), event="roster"))

    # ---- helpers ---------------------------------------------------------------------------
    async def iq(self, kind, payload, to=None, timeout=DEFAULT_TIMEOUT):
        """Sends an iq with `payload` (an Element) and returns the result's
        Element; an error answer raises CommandError."""
        iq = self.make_iq(id=self.fresh_id(), ito=to, itype=kind)
        if payload is not None:
            iq.append(payload)
        try:
            answer = await iq.send(timeout=timeout)
        except slixmpp.exceptions.IqError as error:
            found = stanza_error(error.iq.xml) or {}
            raise CommandError(found.get("condition") or "error", text=found.get("text"),
                               type=found.get("type"))
        except slixmpp.exceptions.IqTimeout:
            raise CommandError("timeout")
        return answer.xml

    def fresh_id(self):
        return uuid.uuid4().hex[:16]

    # ---- commands --------------------------------------------------------------------------
    async def cmd_message(self, c):
        message = ET.Element(q(NS_CLIENT, "message"),
                             {"to": c["to"], "type": c.get("type", "chat"),
                              "id": c.get("message_id") or self.fresh_id()})
        if c.get("body") is not None:
            ET.SubElement(message, q(NS_CLIENT, "body")).text = c["body"]
        if c.get("thread") is not None:
            thread = ET.SubElement(message, q(NS_CLIENT, "thread"))
            thread.text = c["thread"]
            if c.get("parent") is not None:
                thread.set("parent", c["parent"])
        if c.get("properties") is not None:
            message.append(properties_element(c["properties"]))
        self.send_xml(message)
        return {"id": message.get("id")}

    async def cmd_presence_type(self, c, kind):
        self.send_presence(pto=c["to"], ptype=kind)
        return {}

    async def cmd_roster_add(self, c):
        query = ET.Element(q(NS_ROSTER, "query"))
        item = ET.SubElement(query, q(NS_ROSTER, "item"), {"jid": c["jid"]})
        if c.get("name") is not None:
            item.set("name", c["name"])
        for group in c.get("groups", []):
            ET.SubElement(item, q(NS_ROSTER, "group")).text = group
        await self.iq("set", query, timeout=c["timeout"])
        return {}

    async def cmd_roster_remove(self, c):
        query = ET.Element(q(NS_ROSTER, "query"))
        ET.SubElement(query, q(NS_ROSTER, "item"), {"jid": c["jid"], "subscription": "remove"})
        await self.iq("set", query, timeout=c["timeout"])
        return {}

    async def cmd_roster_get(self, c):
        answer = await self.iq("get", ET.Element(q(NS_ROSTER, "query")), timeout=c["timeout"])
        items = answer.findall("%s/%s" % (q(NS_ROSTER, "query"), q(NS_ROSTER, "item")))
        return {"items": [roster_item(item) for item in items]}

    async def cmd_join(self, c):
        room, nick = c["room"], c.get("nick") or self.boundjid.user
        future = asyncio.get_running_loop().create_future()
        self.joins[room] = future
        self.rooms[room] = nick
        presence = ET.Element(q(NS_CLIENT, "presence"), {"to": "%s/%s" % (room, nick)})
        x = ET.SubElement(presence, q(NS_MUC, "x"))
        ET.SubElement(x, q(NS_MUC, "history"), {"maxstanzas": str(c.get("history", 0))})
        if c.get("password"):
            ET.SubElement(x, q(NS_MUC, "password")).text = c["password"]
        self.send_xml(presence)
        try:
            fields = await future
        except CommandError:
            self.rooms.pop(room, None)
            raise
        finally:
            self.joins.pop(room, None)
        return {"nick": fields["nick"], "affiliation": fields["affiliation"],
                "role": fields["role"], "codes": fields["codes"],
                "created": 201 in fields["codes"]}

    async def cmd_leave(self, c):
        room = c["room"]
        nick = self.rooms.get(room)
        if nick is None:
            raise CommandError("not-joined")
        future = asyncio.get_running_loop().create_future()
        self.leaves[room] = future
        self.send_presence(pto="%s/%s" % (room, nick), ptype="unavailable")
        try:
            await future
        finally:
            self.leaves.pop(room, None)
        return {}

    async def cmd_groupchat(self, c):
        room = c["room"]
        if room not in self.rooms:
            raise CommandError("not-joined")
        message_id = c.get("message_id") or self.fresh_id()
        future = asyncio.get_running_loop().create_future()
        self.reflections[(room, message_id)] = future
        message = ET.Element(q(NS_CLIENT, "message"),
                             {"to": room, "type": "groupchat", "id": message_id})
        if c.get("body") is not None:
            ET.SubElement(message, q(NS_CLIENT, "body")).text = c["body"]
        if c.get("subject") is not None:
            ET.SubElement(message, q(NS_CLIENT, "subject")).text = c["subject"]
        if c.get("properties") is not None:
            message.append(properties_element(c["properties"]))
        ET.SubElement(message, q(NS_SID, "origin-id"), {"id": message_id})
        self.send_xml(message)
        try:
            reflected = await future  # the room's copy: it was accepted
        finally:
            self.reflections.pop((room, message_id), None)
        return {"id": message_id, "stanza_id": reflected.get("stanza_ids", {}).get(room)}

    async def cmd_subject(self, c):
        room = c["room"]
        if room not in self.rooms:
            raise CommandError("not-joined")
        future = asyncio.get_running_loop().create_future()
        # Prosody reflects a subject change without the message's id.
        self.subjects[room] = (c["subject"], future)
        message = ET.Element(q(NS_CLIENT, "message"),
                             {"to": room, "type": "groupchat", "id": self.fresh_id()})
        ET.SubElement(message, q(NS_CLIENT, "subject")).text = c["subject"]
        self.send_xml(message)
        try:
            await future
        finally:
            self.subjects.pop(room, None)
        return {}

    async def cmd_room_config_get(self, c):
        answer = await self.iq("get", ET.Element(q(NS_MUC_OWNER, "query")), to=c["room"],
                               timeout=c["timeout"])
        form = answer.find("%s/%s" % (q(NS_MUC_OWNER, "query"), q(NS_DATA, "x")))
        if form is None:
            raise CommandError("no-form")
        return {"fields": form_fields(form)}

    async def cmd_room_config_set(self, c):
        values = dict(c.get("fields", {}))
        if c.get("name") is not None:
            values["muc#roomconfig_roomname"] = c["name"]
        query = ET.Element(q(NS_MUC_OWNER, "query"))
        query.append(submit_form("http://jabber.org/protocol/muc#roomconfig", values))
        await self.iq("set", query, to=c["room"], timeout=c["timeout"])
        if c.get("subject") is not None:  # not in the form: a groupchat message
            await self.cmd_subject(c)
        return {}

    async def cmd_room_destroy(self, c):
        query = ET.Element(q(NS_MUC_OWNER, "query"))
        ET.SubElement(query, q(NS_MUC_OWNER, "destroy"))
        await self.iq("set", query, to=c["room"], timeout=c["timeout"])
        self.rooms.pop(c["room"], None)
        return {}

    async def cmd_set_affiliation(self, c):
        query = ET.Element(q(NS_MUC_ADMIN, "query"))
        item = ET.SubElement(query, q(NS_MUC_ADMIN, "item"),
                             {"jid": c["jid"], "affiliation": c["affiliation"]})
        if c.get("reason"):
            ET.SubElement(item, q(NS_MUC_ADMIN, "reason")).text = c["reason"]
        await self.iq("set", query, to=c["room"], timeout=c["timeout"])
        return {}

    async def cmd_get_affiliations(self, c):
        query = ET.Element(q(NS_MUC_ADMIN, "query"))
        ET.SubElement(query, q(NS_MUC_ADMIN, "item"), {"affiliation": c["affiliation"]})
        answer = await self.iq("get", query, to=c["room"], timeout=c["timeout"])
        items = answer.findall("%s/%s" % (q(NS_MUC_ADMIN, "query"), q(NS_MUC_ADMIN, "item")))
        return {"items": [{"jid": i.get("jid"), "affiliation": i.get("affiliation"),
                           "nick": i.get("nick")} for i in items]}

    async def cmd_invite(self, c):
        message = ET.Element(q(NS_CLIENT, "message"), {"to": c["room"], "id": self.fresh_id()})
        x = ET.SubElement(message, q(NS_MUC_USER, "x"))
        invite = ET.SubElement(x, q(NS_MUC_USER, "invite"), {"to": c["jid"]})
        if c.get("reason"):
            ET.SubElement(invite, q(NS_MUC_USER, "reason")).text = c["reason"]
        self.send_xml(message)
        return {}

    async def cmd_mam(self, c):
        query_id = self.fresh_id()
        query = ET.Element(q(NS_MAM, "query"), {"queryid": query_id})
        values = {}
        for key in ("with", "start", "end"):
            if c.get(key) is not None:
                values[key] = c[key]
        query.append(submit_form(NS_MAM, values))
        rsm = ET.SubElement(query, q(NS_RSM, "set"))
        if c.get("max") is not None:
            ET.SubElement(rsm, q(NS_RSM, "max")).text = str(c["max"])
        if c.get("before") is not None:
            # "" asks for the last page.
            ET.SubElement(rsm, q(NS_RSM, "before")).text = c["before"] or None
        if c.get("after") is not None:
            ET.SubElement(rsm, q(NS_RSM, "after")).text = c["after"]
        self.mam_results[query_id] = []
        try:
            answer = await self.iq("set", query, to=c.get("room"), timeout=c["timeout"])
            # The results come before the answer, on the same stream.
            results = self.mam_results.get(query_id, [])
        finally:
            self.mam_results.pop(query_id, None)
        messages = []
        for result in results:
            forwarded = result.find(q(NS_FORWARD, "forwarded"))
            inner = forwarded.find(q(NS_CLIENT, "message")) if forwarded is not None else None
            if inner is None:
                continue
            fields = message_fields(inner)
            fields["message_id"] = fields.pop("id")
            fields.pop("delay", None)
            delay = forwarded.find(q(NS_DELAY, "delay"))
            fields["id"] = result.get("id")
            fields["stamp"] = delay.get("stamp") if delay is not None else None
            if fields["type"] == "groupchat":
                fields["nick"] = resource(fields["from"])
            messages.append(fields)
        fin = answer.find(q(NS_MAM, "fin"))
        reply = {"messages": messages, "complete": False, "first": None, "last": None,
                 "count": None}
        if fin is not None:
            reply["complete"] = fin.get("complete") in ("true", "1")
            reply["stable"] = fin.get("stable") not in ("false", "0")
            rsm_set = fin.find(q(NS_RSM, "set"))
            if rsm_set is not None:
                reply["first"] = child_text(rsm_set, q(NS_RSM, "first"))
                reply["last"] = child_text(rsm_set, q(NS_RSM, "last"))
                count = child_text(rsm_set, q(NS_RSM, "count"))
                reply["count"] = int(count) if count is not None else None
        return reply

    async def cmd_bookmarks_get(self, c):
        pubsub = ET.Element(q(NS_PUBSUB, "pubsub"))
        ET.SubElement(pubsub, q(NS_PUBSUB, "items"), {"node": NS_BOOKMARKS})
        try:
            answer = await self.iq("get", pubsub, timeout=c["timeout"])
        except CommandError as error:
            if error.fields["error"] == "item-not-found":
                return {"items": []}  # no bookmark ever published
            raise
        items = answer.findall("%s/%s/%s" % (q(NS_PUBSUB, "pubsub"), q(NS_PUBSUB, "items"),
                                             q(NS_PUBSUB, "item")))
        return {"items": [bookmark_item(item) for item in items]}

    async def cmd_bookmark_add(self, c):
        pubsub = ET.Element(q(NS_PUBSUB, "pubsub"))
        publish = ET.SubElement(pubsub, q(NS_PUBSUB, "publish"), {"node": NS_BOOKMARKS})
        item = ET.SubElement(publish, q(NS_PUBSUB, "item"), {"id": c["jid"]})
        conference = ET.SubElement(item, q(NS_BOOKMARKS, "conference"),
                                   {"autojoin": "true" if c.get("autojoin") else "false"})
        if c.get("name") is not None:
            conference.set("name", c["name"])
        if c.get("nick") is not None:
            ET.SubElement(conference, q(NS_BOOKMARKS, "nick")).text = c["nick"]
        # XEP-0402's publish-options; a server that refuses some of them
        # (ejabberd 23.01 knows only persist_items and access_model) gets
        # those two only, as clients do.
        full = {"pubsub#persist_items": "true", "pubsub#max_items": "max",
                "pubsub#send_last_published_item": "never",
                "pubsub#access_model": "whitelist"}
        minimal = {"pubsub#persist_items": "true", "pubsub#access_model": "whitelist"}
        choice = c.get("options", "xep0402")
        attempts = {"xep0402": [full, minimal], "minimal": [minimal], "none": [None]}[choice]
        for number, values in enumerate(attempts):
            for old in pubsub.findall(q(NS_PUBSUB, "publish-options")):
                pubsub.remove(old)
            if values is not None:
                options = ET.SubElement(pubsub, q(NS_PUBSUB, "publish-options"))
                options.append(submit_form("http://jabber.org/protocol/pubsub#publish-options",
                                           values))
            try:
                await self.iq("set", pubsub, timeout=c["timeout"])
                return {"options": "none" if values is None else
                        ("xep0402" if values is full else "minimal")}
            except CommandError as error:
                if number + 1 == len(attempts) or \
                        error.fields["error"] not in ("resource-constraint", "conflict",
                                                      "not-acceptable", "bad-request"):
                    raise
        raise CommandError("unreachable")

    async def cmd_bookmark_remove(self, c):
        pubsub = ET.Element(q(NS_PUBSUB, "pubsub"))
        retract = ET.SubElement(pubsub, q(NS_PUBSUB, "retract"),
                                {"node": NS_BOOKMARKS, "notify": "true"})
        ET.SubElement(retract, q(NS_PUBSUB, "item"), {"id": c["jid"]})
        await self.iq("set", pubsub, timeout=c["timeout"])
        return {}

    async def cmd_ping(self, c):
        await self.iq("get", ET.Element(q(NS_PING, "ping")), to=c.get("to"), timeout=c["timeout"])
        return {}

    async def cmd_presence(self, c):
        self.send_presence(pto=c.get("to"), pshow=c.get("show"), pstatus=c.get("status"),
                           ptype=c.get("type"))
        return {}

    async def cmd_iq(self, c):
        element = ET.fromstring(c["xml"])
        answer = await self.iq(c.get("type", "get"), element, to=c.get("to"),
                               timeout=c["timeout"])
        return {"xml": ET.tostring(answer, encoding="unicode")}

    async def cmd_send(self, c):
        self.send_raw(c["xml"])
        return {}

    async def cmd_disconnect(self, c):
        # Replies first: the process ends when the stream is closed.
        asyncio.get_running_loop().call_later(0.05, self.close_stream, min(c["timeout"], 2.0))
        return {}

    def close_stream(self, wait):
        self.closing = True
        self.disconnect(wait=wait)

    COMMANDS = {
        "message": cmd_message,
        "subscribe": lambda self, c: self.cmd_presence_type(c, "subscribe"),
        "subscribed": lambda self, c: self.cmd_presence_type(c, "subscribed"),
        "unsubscribe": lambda self, c: self.cmd_presence_type(c, "unsubscribe"),
        "unsubscribed": lambda self, c: self.cmd_presence_type(c, "unsubscribed"),
        "roster_add": cmd_roster_add,
        "roster_remove": cmd_roster_remove,
        "roster_get": cmd_roster_get,
        "join": cmd_join,
        "leave": cmd_leave,
        "groupchat": cmd_groupchat,
        "subject": cmd_subject,
        "room_config_get": cmd_room_config_get,
        "room_config_set": cmd_room_config_set,
        "room_destroy": cmd_room_destroy,
        "set_affiliation": cmd_set_affiliation,
        "get_affiliations": cmd_get_affiliations,
        "invite": cmd_invite,
        "mam": cmd_mam,
        "bookmarks_get": cmd_bookmarks_get,
        "bookmark_add": cmd_bookmark_add,
        "bookmark_remove": cmd_bookmark_remove,
        "ping": cmd_ping,
        "presence": cmd_presence,
        "iq": cmd_iq,
        "send": cmd_send,
        "disconnect": cmd_disconnect,
    }

    def send_xml(self, element):
        self.send_raw(tostring(element, stream=self, top_level=True))

    async def run_command(self, line):
        try:
            command = json.loads(line)
            if not isinstance(command, dict):
                raise ValueError("not an object")
        except ValueError as error:
            self.emit({"reply": None, "ok": False, "error": "bad-json", "text": str(error)})
            return
        reply_id = command.get("id")
        name = command.get("cmd")
        handler = self.COMMANDS.get(name)
        if handler is None:
            self.emit({"reply": reply_id, "ok": False, "error": "unknown-command",
                       "text": str(name)})
            return
        command["timeout"] = float(command.get("timeout", DEFAULT_TIMEOUT))
        if not self.ready and name != "disconnect":
            # Sent before "ready": wait for it (within the command's time).
            try:
                await asyncio.wait_for(self.online.wait(), command["timeout"])
            except asyncio.TimeoutError:
                self.emit({"reply": reply_id, "ok": False, "error": "not-connected"})
                return
        try:
            result = await asyncio.wait_for(handler(self, command), command["timeout"])
            self.emit(dict(result, reply=reply_id, ok=True))
        except CommandError as error:
            self.emit(dict(error.fields, reply=reply_id, ok=False))
        except asyncio.TimeoutError:
            self.emit({"reply": reply_id, "ok": False, "error": "timeout"})
        except KeyError as error:
            self.emit({"reply": reply_id, "ok": False, "error": "bad-request",
                       "text": "missing %s" % error})
        except Exception as error:  # noqa: BLE001 - every command answers
            self.emit({"reply": reply_id, "ok": False, "error": "exception",
                       "text": "%s: %s" % (type(error).__name__, error)})
        if name == "disconnect":
            await asyncio.sleep(2.0)  # normally gone once the stream closed
            os._exit(0)


def read_stdin(loop, peer):
    """Runs in a thread: each line becomes a command on the event loop; the
    end of stdin ends the process."""
    for line in sys.stdin:
        line = line.strip()
        if line:
            asyncio.run_coroutine_threadsafe(peer.run_command(line), loop)
    loop.call_soon_threadsafe(shutdown, peer)


def shutdown(peer):
    peer.closing = True
    try:
        peer.disconnect(wait=0.5)
    except Exception:  # noqa: BLE001
        pass
    asyncio.get_running_loop().call_later(1.0, os._exit, 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5222)
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--resource", default="peer")
    parser.add_argument("--tls", action="store_true", help="require STARTTLS")
    parser.add_argument("--ca", help="CA file to verify the server certificate")
    parser.add_argument("--mech", help="SASL mechanism to use (default: the best offered)")
    parser.add_argument("--timeout", type=float, default=20.0, help="login timeout (s)")
    parser.add_argument("--notify", action="append", default=[], metavar="NODE",
                        help="receive PEP notifications of NODE (repeatable)")
    parser.add_argument("--debug", action="store_true", help="slixmpp debug log on stderr")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR,
                        stream=sys.stderr, format="peer %(levelname)s %(name)s: %(message)s")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    peer = Peer(args)
    peer.connect((args.host, args.port), force_starttls=args.tls, disable_starttls=not args.tls)

    def login_timeout():
        if not peer.ready:
            peer.emit({"event": "failed", "error": "timeout"})
            os._exit(1)

    loop.call_later(args.timeout, login_timeout)
    threading.Thread(target=read_stdin, args=(loop, peer), daemon=True).start()
    loop.run_forever()


if __name__ == "__main__":
    main()
