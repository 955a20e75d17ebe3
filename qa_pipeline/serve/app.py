"""The review application: Starlette routes over ReviewData, pages rendered from Jinja2 templates on the
server (forms and links; the only script on a page seeks the recording to a verdict's seconds).

Who may do what is decided here, per request, from the signed-in user (serve.users):
- every page but the sign-in needs a session with a user, else a redirect to /login;
- an agent asking for a call that is not theirs gets 403, and the queue shows an agent their calls only;
- a POST needs its session's CSRF token (403 without it), a review needs the lead or reviewer role.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from qa_pipeline.report.audio import cache_key, embed_audio
from qa_pipeline.serve.data import DatabaseBusy, QueueFilters, ReviewData
from qa_pipeline.serve.sessions import COOKIE, Session, Sessions
from qa_pipeline.serve.users import User, UserStore
from qa_pipeline.store.connection import UnreadableDatabaseError, UnwritableDatabaseError
from qa_pipeline.store.database import ReviewError

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 64 * 1024
VERDICTS = ("pass", "fail", "na")


class Forbidden(Exception):
    pass


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form (the pages post no files), first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Forbidden("form too large")
    return {
        key: values[0] for key, values in urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True).items()
    }


def create_app(db_path: str | Path, users_path: str | Path, sample_share: float = 0.05) -> Starlette:
    data = ReviewData(db_path, sample_share)
    # A database last written by an older version lacks the tables disputes live in: opening it once for
    # writing brings its schema up to date (as `run` and `review` do), so read-only pages find them.
    with data.writing():
        pass
    users = UserStore(users_path)
    sessions = Sessions()
    # Every page escapes what it shows (transcripts, notes): the templates end in .j2, which Starlette's
    # default autoescaping (by extension: .html, .xml) would leave unescaped.
    templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True))
    audio_cache = Path(db_path).with_name(f"{Path(db_path).stem}_serve_audio")

    def session_of(request: Request) -> Session:
        return sessions.get_or_start(request.cookies.get(COOKIE))

    def with_cookie(response: Response, session: Session) -> Response:
        response.set_cookie(COOKIE, session.session_id, httponly=True, samesite="strict", path="/")
        return response

    def page(request: Request, session: Session, name: str, status_code: int = 200, **context: Any) -> Response:
        # signed_in read the user already for most pages; the sign-in and refusal pages may have none
        user = getattr(request.state, "user", None) or (users.get(session.username) if session.username else None)
        response = templates.TemplateResponse(
            request, name, {"user": user, "csrf_token": session.csrf_token, **context}, status_code=status_code
        )
        return with_cookie(response, session)

    def signed_in(request: Request) -> tuple[Session, User] | Response:
        session = session_of(request)
        user = users.get(session.username) if session.username else None
        if user is None:
            return with_cookie(RedirectResponse(f"/login?next={urllib.parse.quote(request.url.path)}", 303), session)
        request.state.user = user
        return session, user

    def refused(request: Request, session: Session, why: str, status_code: int = 403) -> Response:
        """403: not allowed (role, another agent's call, no CSRF token); 400: a form that cannot be taken as
        it is (no note); 409: it conflicts with what was done before (already disputed, ruled final)."""
        return page(request, session, "refused.html.j2", status_code=status_code, why=why)

    def unavailable(request: Request, session: Session, error: Exception) -> Response:
        return page(request, session, "refused.html.j2", status_code=503, why=str(error))

    async def checked_form(request: Request, session: Session) -> dict[str, str] | Response:
        """The posted form, or the refusal when it lacks this session's CSRF token."""
        form = await _form(request)
        if not session.csrf_ok(form.get("csrf_token")):
            return refused(request, session, "the form's security token is missing or stale: reload the page")
        return form

    async def login(request: Request) -> Response:
        session = session_of(request)
        target = request.query_params.get("next", "/")
        if request.method == "GET":
            return page(request, session, "login.html.j2", next=target, error=None)
        form = await checked_form(request, session)
        if isinstance(form, Response):
            return form
        user = await run_in_threadpool(users.authenticate, form.get("username", ""), form.get("password", ""))
        if user is None:
            return page(
                request, session, "login.html.j2", status_code=401, next=target, error="wrong user name or password"
            )
        signed = sessions.sign_in(session, user.username)
        safe_target = target if target.startswith("/") and not target.startswith("//") else "/"
        return with_cookie(RedirectResponse(safe_target, 303), signed)

    async def logout(request: Request) -> Response:
        session = session_of(request)
        form = await checked_form(request, session)
        if isinstance(form, Response):
            return form
        sessions.end(session)
        fresh = session_of(request)
        return with_cookie(RedirectResponse("/login", 303), fresh)

    async def queue(request: Request) -> Response:
        found = signed_in(request)
        if isinstance(found, Response):
            return found
        session, user = found
        params = request.query_params
        try:
            day = date.fromisoformat(params["day"]) if params.get("day") else None
        except ValueError:
            day = None
        if user.role == "agent":
            try:
                calls = await run_in_threadpool(data.agent_calls, user.agent_id or "")
            except (UnreadableDatabaseError, DatabaseBusy) as error:
                return unavailable(request, session, error)
            return page(request, session, "agent_calls.html.j2", calls=calls)
        filters = QueueFilters(
            day, params.get("agent") or None, params.get("check") or None, params.get("type") or None
        )
        try:
            queue = await run_in_threadpool(data.queue, filters)
        except (UnreadableDatabaseError, DatabaseBusy) as error:
            return unavailable(request, session, error)
        return page(request, session, "queue.html.j2", queue=queue, filters=filters)

    async def call_page(request: Request) -> Response:
        found = signed_in(request)
        if isinstance(found, Response):
            return found
        session, user = found
        call_id = request.path_params["call_id"]
        try:
            call = await run_in_threadpool(data.call, call_id)  # one opening of the file; the agent is in it
        except (UnreadableDatabaseError, DatabaseBusy) as error:
            return unavailable(request, session, error)
        if call is None:
            return page(request, session, "refused.html.j2", status_code=404, why=f"no call {call_id}")
        if not user.may_see_agent(call["facts"]["agent_id"]):
            return refused(request, session, f"call {call_id} was taken by another agent")
        audio_cache.mkdir(parents=True, exist_ok=True)
        audio_path = call["facts"]["audio_path"] or ""
        # kept under what the encoding depends on (the file, the muted stretches): a call re-scored with other
        # redactions is encoded again, never served from an encoding muted elsewhere
        cached = (
            audio_cache / f"{cache_key(Path(audio_path), call['mute'])}.ogg" if Path(audio_path).is_file() else None
        )
        audio = await run_in_threadpool(embed_audio, audio_path, call["mute"], cached)
        saved = request.query_params.get("saved")
        return page(request, session, "call.html.j2", call=call, audio=audio, verdicts=VERDICTS, saved=saved)

    async def posted(request: Request) -> tuple[Session, User, dict[str, str]] | Response:
        """The signed-in user and their form, or the refusal: signed out, or no CSRF token of this session."""
        found = signed_in(request)
        if isinstance(found, Response):
            return found
        session, user = found
        form = await checked_form(request, session)
        if isinstance(form, Response):
            return form
        return session, user, form

    async def written(
        request: Request, session: Session, then: str, write: Callable[..., object], *args: object
    ) -> Response:
        """`write(*args)` in a worker thread, then to `then`; what it refused (409) or could not do (503)."""
        try:
            await run_in_threadpool(write, *args)
        except (ReviewError, ValueError) as error:
            return refused(request, session, str(error), 409)
        except (UnwritableDatabaseError, UnreadableDatabaseError, DatabaseBusy) as error:
            return unavailable(request, session, error)
        return with_cookie(RedirectResponse(then, 303), session)

    async def review(request: Request) -> Response:
        found = await posted(request)
        if isinstance(found, Response):
            return found
        session, user, form = found
        if not user.may_review:
            return refused(request, session, f"a {user.role} may not review verdicts")
        call_id, check_id, note = request.path_params["call_id"], form.get("check_id", ""), form.get("note", "").strip()
        confirming = form.get("action") == "confirm"
        # Confirm keeps the verdict shown (the one in force); Overrule gives the one chosen, with a note.
        verdict = form.get("current", "") if confirming else form.get("verdict", "")
        if verdict not in VERDICTS:
            return refused(request, session, f"verdict must be one of {', '.join(VERDICTS)}", 400)
        if not note and not confirming:
            return refused(request, session, "an overrule needs a note saying why", 400)
        then = f"/calls/{call_id}?saved={check_id}#check-{check_id}"
        return await written(
            request, session, then, data.add_review, call_id, check_id, verdict, user.username, note or "confirmed"
        )

    async def agent_form(request: Request) -> tuple[Session, User, dict[str, str]] | Response:
        """The signed-in agent and their form on their own call, or the refusal."""
        found = await posted(request)
        if isinstance(found, Response):
            return found
        session, user, _ = found
        if user.role != "agent":
            return refused(request, session, "only the agent whose call it is may do this")
        call_id = request.path_params["call_id"]
        exists, agent_id = await run_in_threadpool(data.agent_of, call_id)
        if not exists or not user.may_see_agent(agent_id):
            return refused(request, session, f"call {call_id} was taken by another agent")
        return found

    async def dispute(request: Request) -> Response:
        found = await agent_form(request)
        if isinstance(found, Response):
            return found
        session, user, form = found
        call_id = request.path_params["call_id"]
        args = (call_id, form.get("check_id", ""), user.agent_id or "", user.username, form.get("note", ""))
        return await written(request, session, f"/calls/{call_id}?saved=dispute", data.open_dispute, *args)

    async def acknowledge(request: Request) -> Response:
        found = await agent_form(request)
        if isinstance(found, Response):
            return found
        session, user, form = found
        call_id = request.path_params["call_id"]
        review_id = form.get("review_id", "")
        if not review_id.isdigit():
            return refused(request, session, f"no review {review_id!r}", 400)
        then = f"/calls/{call_id}?saved=acknowledgement"
        return await written(
            request, session, then, data.acknowledge, int(review_id), user.agent_id or "", user.username
        )

    async def staff_page(request: Request, template: str, read: Callable[[], Any], **context: Any) -> Response:
        """A page for leads, reviewers and viewers (agents: 403) showing what `read()` returns as `found`."""
        found = signed_in(request)
        if isinstance(found, Response):
            return found
        session, user = found
        if user.role == "agent":
            return refused(request, session, "this page is for QA leads, reviewers and viewers")
        try:
            shown = await run_in_threadpool(read)
        except (UnreadableDatabaseError, DatabaseBusy) as error:
            return unavailable(request, session, error)
        return page(request, session, template, found=shown, **context)

    async def disputes_page(request: Request) -> Response:
        saved = request.query_params.get("saved")
        return await staff_page(request, "disputes.html.j2", data.disputes, verdicts=VERDICTS, saved=saved)

    async def rule(request: Request) -> Response:
        found = await posted(request)
        if isinstance(found, Response):
            return found
        session, user, form = found
        if not user.may_rule:
            return refused(request, session, f"a {user.role} may not rule on disputes: a QA lead does")
        args = (form.get("ruling", ""), user.username, form.get("note", ""), form.get("verdict") or None)
        return await written(
            request, session, "/disputes?saved=ruling", data.rule, request.path_params["dispute_id"], *args
        )

    async def calibration(request: Request) -> Response:
        return await staff_page(request, "calibration.html.j2", data.calibration)

    async def health(request: Request) -> Response:
        return HTMLResponse("ok")

    routes = [
        Route("/", queue),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/calls/{call_id}", call_page),
        Route("/calls/{call_id}/review", review, methods=["POST"]),
        Route("/calls/{call_id}/dispute", dispute, methods=["POST"]),
        Route("/calls/{call_id}/acknowledge", acknowledge, methods=["POST"]),
        Route("/disputes", disputes_page),
        Route("/disputes/{dispute_id:int}/rule", rule, methods=["POST"]),
        Route("/calibration", calibration),
        Route("/health", health),
    ]
    return Starlette(routes=routes)
