"""A Radicale application in-process, and a small WSGI client for it."""

from __future__ import annotations

import base64
import functools
import io
import os
import textwrap
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from radicale import Application, config
from radicale import storage as radicale_storage

from radicale_scheduling.storage.collection import TAGS_FOLDER

PASSWORD = "radicale"
USERS = ("alice", "bob", "carol", "room-1", "dave@mail.example")
NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav",
      "CS": "http://calendarserver.org/ns/",
      "CR": "urn:ietf:params:xml:ns:carddav"}


def clark(human: str) -> str:
    prefix, name = human.split(":", 1)
    return "{%s}%s" % (NS[prefix], name)


@dataclass
class Response:
    status: int
    headers: Dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    def responses(self) -> Dict[str, ET.Element]:
        """href -> DAV:response of a multistatus."""
        return {r.findtext("D:href", namespaces=NS): r
                for r in self.xml.findall("D:response", NS)}


def prop(response: ET.Element, human: str) -> Optional[ET.Element]:
    """The value of a property in a 200 propstat, or None."""
    for propstat in response.findall("D:propstat", NS):
        if "200" in (propstat.findtext("D:status", namespaces=NS) or ""):
            found = propstat.find("D:prop/" + human, NS)
            if found is not None:
                return found
    return None


def status_of(response: ET.Element, human: str) -> Optional[int]:
    for propstat in response.findall("D:propstat", NS):
        if propstat.find("D:prop/" + human, NS) is not None:
            return int(propstat.findtext("D:status", namespaces=NS).split()[1])
    return None


def proppatch_refused(response: Response, status: int = 403,
                      precondition: Optional[str] = None) -> bool:
    """A PROPPATCH that changed nothing (RFC 4918 s9.2): 207 with one
    property refused (``status``, ``precondition`` in its DAV:error) and
    every other one 424 Failed Dependency."""
    assert response.status == 207, response.text
    refused = []
    for propstat in response.xml.iter(clark("D:propstat")):
        code = int((propstat.findtext(clark("D:status")) or "").split()[1])
        names = [p.tag for p in propstat.find(clark("D:prop"))]
        if code == 424:
            continue
        error = propstat.find(clark("D:error"))
        refused.append((code, names, [e.tag for e in error]
                        if error is not None else []))
    assert len(refused) == 1 and len(refused[0][1]) == 1, response.text
    assert refused[0][0] == status, response.text
    if precondition is not None:
        assert refused[0][2] == [clark(precondition)], response.text
    return True


def propfind_body(*props: str) -> str:
    inner = "".join("<%s/>" % p for p in props)
    return ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav" '
            'xmlns:CS="http://calendarserver.org/ns/">'
            '<D:prop>%s</D:prop></D:propfind>' % inner)


def proppatch_body(set_xml: str = "", remove_xml: str = "") -> str:
    parts = []
    if set_xml:
        parts.append("<D:set><D:prop>%s</D:prop></D:set>" % set_xml)
    if remove_xml:
        parts.append("<D:remove><D:prop>%s</D:prop></D:remove>" % remove_xml)
    return ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav">%s</D:propertyupdate>'
            % "".join(parts))


def write_users(folder: str) -> str:
    path = os.path.join(folder, "users")
    with open(path, "w") as f:
        for user in USERS:
            f.write("%s:%s\n" % (user, PASSWORD))
    return path


def snapshot(server: Server) -> Dict[str, Any]:
    """relative path -> bytes (None for folders) of the collection tree;
    an object's schedule tag counts as part of the object."""
    root = server.collection_root()
    files: Dict[str, Any] = {}
    for folder, folders, names in os.walk(root):
        tags = os.path.basename(folder) == TAGS_FOLDER
        folders[:] = [f for f in folders if f != ".Radicale.cache"]
        for name in folders:
            if name != TAGS_FOLDER:
                files[os.path.relpath(os.path.join(folder, name), root)] = None
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                data = f.read()
            if tags:
                path = os.path.join(os.path.dirname(folder), name)
                key = os.path.relpath(path, root)
                files[key] = (files.get(key), data)
            else:
                key = os.path.relpath(path, root)
                files[key] = (data, files[key][1]) if isinstance(
                    files.get(key), tuple) else data
    return files


def changes(before: Dict[str, Any], after: Dict[str, Any]) -> List[str]:
    """The paths ``snapshot`` found different."""
    return sorted(path for path in set(before) | set(after)
                  if before.get(path, 0) != after.get(path, 0))


def error_element(response: Response, name: str) -> Optional[ET.Element]:
    """The precondition ``name`` in an XML error body (RFC 4918 s16)."""
    assert response.headers["Content-Type"].startswith("application/xml")
    return response.xml.find(name, NS)


def wait_for(condition: Callable[[], Any], seconds: float = 20) -> Any:
    """``condition()`` once it is true (another thread or process acts),
    or its last false value after ``seconds``: only bounds how long a
    broken build hangs; no assertion is timed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    return condition()


def make_configuration(folder: str, storage_type: str = "radicale_scheduling",
                       rights: str = "owner_only",
                       **storage_options: str) -> config.Configuration:
    configuration = config.load()
    server: Dict[str, Any] = {}
    schema = config.DEFAULT_CONFIG_SCHEMA
    if "delay_on_error" in schema["server"]:
        server["delay_on_error"] = "0"
    values: Dict[str, Dict[str, Any]] = {
        "storage": {"type": storage_type,
                    "filesystem_folder": os.path.join(folder, "collections"),
                    "_filesystem_fsync": "False", **storage_options},
        "auth": {"type": "htpasswd",
                 "htpasswd_filename": write_users(folder),
                 "htpasswd_encryption": "plain", "delay": "0"},
        "rights": {"type": rights},
        "logging": {"level": "warning"},
    }
    if server:
        values["server"] = server
    configuration.update(values, "test", privileged=True)
    return configuration


def write_file(folder: str, name: str, content: str) -> str:
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(content))
    return path


@dataclass
class Server:
    """A Radicale application and a client that speaks WSGI to it."""

    app: Application
    folder: str
    log: List[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: Any = None,
                user: Optional[str] = None, password: str = PASSWORD,
                **headers: str) -> Response:
        if isinstance(body, str):
            body = body.encode("utf-8")
        body = body or b""
        environ: Dict[str, Any] = {
            "REQUEST_METHOD": method, "PATH_INFO": path,
            "SERVER_NAME": "localhost", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "localhost",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": str(len(body)),
        }
        if user is not None:
            token = base64.b64encode(("%s:%s" % (user, password)).encode())
            environ["HTTP_AUTHORIZATION"] = "Basic " + token.decode()
        for key, value in headers.items():
            key = key.upper()
            if key not in ("CONTENT_TYPE",):
                key = "HTTP_" + key
            environ[key] = value
        captured: Dict[str, Any] = {}

        def start_response(status: str, response_headers: Any) -> None:
            captured["status"] = int(status.split()[0])
            captured["headers"] = dict(response_headers)

        chunks = self.app(environ, start_response)
        return Response(captured["status"], captured["headers"],
                        b"".join(chunks))

    # shortcuts ---------------------------------------------------------------
    def propfind(self, path: str, *props: str, user: str = "alice",
                 depth: str = "0") -> Response:
        return self.request("PROPFIND", path, propfind_body(*props),
                            user=user, depth=depth)

    def proppatch(self, path: str, set_xml: str = "", remove_xml: str = "",
                  user: str = "alice") -> Response:
        return self.request("PROPPATCH", path,
                            proppatch_body(set_xml, remove_xml), user=user)

    def mkcalendar(self, path: str, user: str = "alice",
                   components: str = "VEVENT") -> Response:
        comps = "".join('<C:comp name="%s"/>' % c
                        for c in components.split(","))
        body = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
                '<C:supported-calendar-component-set>%s'
                '</C:supported-calendar-component-set></D:prop></D:set>'
                '</C:mkcalendar>' % comps)
        return self.request("MKCALENDAR", path, body, user=user)

    @functools.cached_property
    def storage(self) -> Any:
        """The plugin's storage on this server's folder, loaded through
        Radicale's public ``radicale.storage.load`` as the mail command
        loads it, instead of the application's private ``_storage``.  It
        shares the server's mail queue (one per folder and process)."""
        return radicale_storage.load(self.app.configuration)

    def collection_root(self) -> str:
        return os.path.join(self.folder, "collections", "collection-root")


def make_server(folder: str, **options: str) -> Server:
    os.makedirs(folder, exist_ok=True)
    return Server(Application(make_configuration(folder, **options)), folder)
