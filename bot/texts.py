"""Every text a participant or facilitator reads, in one place, ready for translation.

Texts are HTML (Telegram parse mode). Placeholders are filled with already-escaped values.
"""

from __future__ import annotations

import html
from typing import Any

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        # joining
        "welcome": (
            "Hello{name}! Welcome to <b>{program}</b>.\n\n"
            "{description}\n\n"
            "For {weeks} weeks you'll get a short lesson and one or two questions here each day, "
            "{when}. Answer in your own words or tap a button; it takes a few minutes. "
            "Your facilitator reads your answers to support the group."
        ),
        "when_daily": "around {time} your time",
        "when_preview": "one program day every {seconds} seconds (preview mode)",
        "consent": "<b>Please read before you start</b>\n\n{consent}",
        "button_accept": "I agree",
        "button_decline": "No, thanks",
        "consent_accepted": "Thank you, you're in. {next}",
        "next_now": "Your first lesson is on its way.",
        "next_later": "Day 1 arrives on {date} at {time}. Until then, take good care.",
        "consent_declined": (
            "That's completely fine. Nothing about you has been kept. "
            "If you change your mind, open the invite link again."
        ),
        "consent_already": "You've already answered this. Send /help to see what you can do.",
        "consent_pending": "To start, please tap “I agree” under the message above (or “No, thanks”).",
        "join_no_code": (
            "Hello! This bot runs group resilience programs. To join one, open the invite link "
            "your facilitator shared with you."
        ),
        "join_unknown_code": (
            "I couldn't find a program for that link. Please check it with your facilitator; "
            "invite links can't be typed by hand very easily."
        ),
        "join_closed": "This program has already ended, so it can't be joined any more.",
        "join_already_here": "You're already in <b>{program}</b>. Send /today to see today's lesson.",
        "join_other_cohort": (
            "You're already taking part in <b>{program}</b>. One program at a time works best: "
            "send /stop there first if you want to switch."
        ),
        "program_finished": "This program has finished. Thank you for taking part!",
        # daily content
        "lesson_header": "<b>Day {day} of {days} · {title}</b>",
        "practice_header": "<b>Today's practice</b>",
        "scale_hint": "Tap a number.",
        "choice_hint": "Tap one.",
        "text_hint": "Just reply here in your own words.",
        "day_done": "Thank you. Day {day} of {days} done. See you tomorrow.",
        "day_done_last": "Thank you. That was day {days} of {days}, the last one.",
        "reminder_for_prompt": "Whenever you're ready, I'd love to hear your answer:\n\n{prompt}",
        "answer_noted": "Noted: {answer}",
        "answer_changed": "Changed to: {answer}",
        "button_expired": "This question is no longer open.",
        "button_not_yours": "This button isn't for you.",
        "tap_buttons": "For this question, please tap one of the buttons above it.",
        "media_note": (
            "Thank you for sending that. I keep it with your answers, but I can only read "
            "text, so a few written words work best."
        ),
        "nothing_open": (
            "Thanks for your message. There's no open question right now; the next lesson "
            "will come at the usual time. Send /help to see what you can do."
        ),
        "not_enrolled": (
            "You're not in a program right now. To join one, open the invite link from your "
            "facilitator."
        ),
        "welcome_back": "Welcome back! You'll get today's lesson shortly.",
        # commands
        "help": (
            "<b>What you can do</b>\n"
            "/today – today's lesson and open questions\n"
            "/progress – how far you've come\n"
            "/pause – take a break; /resume – carry on\n"
            "/timezone – set your time zone\n"
            "/mydata – get everything stored about you\n"
            "/delete – erase your answers\n"
            "/stop – leave the program\n\n"
            "This bot is not a therapist or an emergency service, and nobody watches this chat "
            "around the clock. In an emergency, call your local emergency number."
        ),
        "today_nothing": "Nothing has arrived yet today. Your next lesson comes {when}.",
        "progress": (
            "<b>Your progress</b>\n"
            "Days done: {done} of {days}\n"
            "Answers given: {answers}\n"
            "Current streak: {streak} day{streak_s}"
        ),
        "paused": ("Paused. You won't get lessons until you send /resume. Take the time you need."),
        "already_paused": "You're already paused. Send /resume whenever you're ready.",
        "resumed": "Welcome back! You'll carry on with today's lesson, day {day}.",
        "resumed_later": "Welcome back! Your next lesson arrives on schedule.",
        "not_paused": "You're not paused. Your lessons arrive as usual.",
        "stop_confirm": (
            "Do you want to leave <b>{program}</b>? You won't get any more lessons. "
            "Your answers stay with your facilitator unless you /delete them."
        ),
        "button_stop_yes": "Yes, leave",
        "button_stop_no": "No, stay",
        "stopped": "You've left the program. Thank you for the part you took. Take good care.",
        "stop_cancelled": "Good to have you here. Nothing has changed.",
        "timezone_current": (
            "Your time zone is <b>{tz}</b>; lessons arrive around {time} there. To change it, "
            "send /timezone followed by a place name, e.g. <code>/timezone Europe/Berlin</code>."
        ),
        "timezone_set": "Done. Your time zone is now <b>{tz}</b>.",
        "timezone_unknown": "I don't know the time zone “{tz}”.{suggestions}",
        "timezone_suggestions": " Did you mean one of these?",
        "timezone_none": " Try a name like <code>Europe/Berlin</code> or <code>America/New_York</code>.",
        "unknown_command": "I don't know that command. Send /help to see what you can do.",
        "error": "Sorry, something went wrong on my side. Please try again in a little while.",
        "group_only_private": "Please write to me in a private chat.",
    }
}


# --- facilitators: cohorts, reports, answers, exports, announcements, digest, groups ------
TEXTS["en"].update(
    {
        "fac_not_found": "I can't find cohort {cohort} among yours. Send /cohorts to see them.",
        "fac_no_cohorts": "You don't have any cohorts yet. Send /newcohort to set one up.",
        "fac_pick": "Which cohort?",
        "fac_cohorts_header": "<b>Your cohorts</b>",
        "fac_cohort_line": "<b>{id}</b> · {name} · {day} · {active}/{total} active · yesterday {rate}",
        "fac_cohorts_footer": (
            "Add the cohort number to a command, e.g. <code>/report {id}</code>.\n"
            "/report · /chart · /answers · /export · /broadcast · /nudge · /newcohort · /digest"
        ),
        "fac_alerts_unreached": "⚠️ <b>{count} safety alert(s) reached nobody.</b> Add a facilitator to the cohort (or FACILITATOR_IDS), or ask them to unblock the bot; /alerts shows them.",
        "fac_alert_unreached_line": "• alert {id}, cohort {cohort}: {reason}",
        "fac_chart_caption": "<b>{name}</b>: answers and people reached per day, and scale answers over time.",
        "fac_answers_header": "<b>{name}</b> · day {day} ({date}) · {count} answers{page}",
        "fac_answers_page": " · page {page} of {pages}",
        "fac_answers_none": "<b>{name}</b> · day {day}: no answers yet.",
        "fac_answers_bad_day": "Day {day} isn't in this program (days 1 to {days}).",
        "fac_answers_file": "<b>{name}</b> · day {day}: {count} answers, so here they are as a file.",
        "fac_button_prev": "‹ Back",
        "fac_button_next": "More ›",
        "fac_button_prev_day": "‹ Day {day}",
        "fac_button_next_day": "Day {day} ›",
        "fac_export_caption": (
            "<b>{name}</b>: {count} answers. This file holds personal answers; please keep it safe."
        ),
        "fac_export_too_big": (
            "This export is too big to send here. On the server, run "
            "<code>resilience-bot export {id} --format csv --output answers.csv</code>."
        ),
        "fac_broadcast_usage": (
            "Write the message after the cohort number, e.g. "
            "<code>/broadcast {id} See you on Thursday!</code>"
        ),
        "fac_broadcast_preview": (
            "This goes to the {count} active participants of <b>{name}</b>:\n\n{message}"
        ),
        "fac_broadcast_message": "<b>A message from your facilitator</b>\n\n{message}",
        "fac_broadcast_sent": "Sent to {count} participants. It goes out over the next minutes.",
        "fac_broadcast_nobody": "<b>{name}</b> has no active participants right now.",
        "fac_expired": "This has expired. Please send the command again.",
        "fac_cancelled": "Cancelled. Nothing was sent.",
        "fac_button_send": "Send",
        "fac_button_cancel": "Cancel",
        "fac_nudge_none": "Nobody in <b>{name}</b> is slipping right now.",
        "fac_nudge_preview": (
            "A check-in goes to {people} in <b>{name}</b> with no answer on their last "
            "{days} days: {names}\n\nThey'll read:\n\n{message}"
        ),
        "fac_nudge_message": (
            "Hi{name}, just checking in. No pressure: whenever you're ready, send /today to "
            "pick up where the group is. If now isn't a good time, /pause is fine too."
        ),
        "fac_nudge_sent": "Check-in sent to {count}.",
        "fac_nudge_sent_some": "Check-in sent to {count}; {skipped} already got one today.",
        "fac_digest_on": (
            "Every day at {time} ({tz}) you'll get a short summary of your cohorts. "
            "<code>/digest off</code> stops it."
        ),
        "fac_digest_off": "The daily summary is off.",
        "fac_digest_usage": (
            "Send <code>/digest 08:00</code> (with a time zone if you like: "
            "<code>/digest 08:00 Europe/Berlin</code>) or <code>/digest off</code>. Now: {current}."
        ),
        "fac_digest_bad_tz": "I don't know the time zone “{tz}”.{hint}",
        "fac_digest_header": "<b>Your daily summary</b>",
        "fac_digest_cohort": "<b>{name}</b> · {day}\nYesterday: {yesterday}",
        "fac_digest_new_risk": "Newly slipping: {names}",
        "fac_digest_alerts": "Open safety alerts: {count}",
        "fac_linkgroup_private": (
            "Add me to the cohort's group, then send <code>/linkgroup {id}</code> there."
        ),
        "fac_linkgroup_done": (
            "This group is now linked to <b>{name}</b>. I'll post each day's theme here, "
            "never anyone's answers."
        ),
        "group_day_theme": (
            "<b>Day {day} of {days} · {title}</b>\n"
            "Today's theme. Take a moment for it whenever it suits you."
        ),
        "fac_invite_created": (
            "Facilitator invite for <b>{name}</b>. It works once, for 7 days:\n{link}"
        ),
        "fac_invite_added": "Welcome! You now facilitate <b>{name}</b>. Send /cohorts to see it.",
        "fac_invite_already": "You already facilitate <b>{name}</b>. Send /cohorts to see it.",
        "fac_new_program": "Let's set up a new cohort. Which program?",
        "fac_new_name": "<b>{program}</b>. What should the cohort be called? Type a name.",
        "fac_new_name_bad": "Please type a name of up to 200 characters.",
        "fac_new_start": "When does day 1 start? Tap, or type a date like <code>{example}</code>.",
        "fac_new_bad_date": "Please type a date like <code>{example}</code>, today or later.",
        "fac_new_timezone": (
            "Which time zone are the participants in? Type a name like "
            "<code>Europe/Berlin</code>, or tap:"
        ),
        "fac_new_bad_timezone": "I don't know “{tz}”.{hint}",
        "fac_new_time": "At what time should lessons arrive (their local time)?",
        "fac_new_cancelled": "Cancelled. No cohort was created.",
        "fac_new_done": (
            "Done! <b>{name}</b> starts on {date}, lessons at {time} ({tz}).\n\n"
            "Share this invite link with participants:\n{link}\n\n"
            "Send <code>/report {id}</code> any time."
        ),
        "fac_button_today": "Today",
        "fac_button_tomorrow": "Tomorrow",
        "fac_button_monday": "Next Monday",
    }
)


# --- safety alerts and data rights ---------------------------------------------------------
TEXTS["en"].update(
    {
        # facilitators: alerts
        "alert_head": "🚨 <b>Safety alert</b> · {cohort} · {category}",
        "alert_body_text": "{name} wrote:\n{message}",
        "alert_body_scale": "{name}: {detail}",
        "alert_body_checkin": "{name} was asked “Are you safe right now?” after something they wrote, and answered: <b>{answer}</b>. Their messages are in /answers.",
        "alert_cat_harm_to_dependent": "possible harm to someone in their care",
        "checkin_question": "That sounds really hard. Are you safe right now?",
        "checkin_button_safe": "I'm safe",
        "checkin_button_not_safe": "I'm not safe",
        "checkin_button_talk": "I'd like to talk to someone",
        "checkin_safe": "Thank you for letting me know. If that changes, you can write here any time.",
        "checkin_already": "Thank you, I have your answer.",
        "checkin_gone": "This question is no longer open.",
        "alerts_checkins_header": "<b>Asked if they are safe, no answer yet</b> (low priority)",
        "alerts_checkin_line": "• {name} · cohort {cohort} · asked {asked}",
        "alert_scale_detail": "answered {values} to “{prompt}”, {count} times in a row.",
        "alert_footer": (
            "They got the crisis resources right away. Please check in with them soon, and tap "
            "<b>I'm on it</b> so the others know."
        ),
        "alert_button_ack": "I'm on it",
        "alert_taken": "✅ <b>{name}</b> is on it.",
        "alert_escalated": "⏰ <b>No one has taken this alert on after {minutes} minutes.</b>",
        "alert_cat_self_harm": "possible self-harm",
        "alert_cat_harm_to_others": "possible harm to others",
        "alert_cat_abuse": "possible abuse",
        "alert_cat_low_scale": "low answers in a row",
        "alert_deleted_participant": "<i>participant deleted their data</i>",
        "alert_text_deleted": "<i>(text deleted)</i>",
        "alert_ack_done": "Thank you. The others can see you're on it.",
        "alert_ack_already": "{name} is already on it.",
        "alert_ack_not_allowed": "This alert isn't for one of your cohorts.",
        "alert_ack_not_found": "This alert no longer exists.",
        "alerts_open_header": "<b>Open safety alerts: {count}</b>",
        "alerts_none_open": "None right now.",
        "alerts_recent_header": "<b>Handled in the last 7 days</b>",
        "alerts_line": "<b>#{id}</b> · {cohort} · {name} · {category} · {when}\n{what}",
        "alerts_line_taken": "✅ {name} is on it",
        "alerts_line_escalated": "⏰ sent on to the administrators",
        "alerts_button_ack": "I'm on it: #{id}",
        "alerts_more": "(the newest {count} are shown)",
        # participants: your data
        "mydata_caption": (
            "Here is everything I store about you, as a file. It has your profile, your consent "
            "and all your answers. Send /delete if you want it erased."
        ),
        "mydata_none": "I don't have any data about you.",
        "delete_confirm": (
            "<b>Delete your data?</b>\n\n"
            "This erases your answers and your name for good, and you leave the program. "
            "Your facilitator will only see that someone deleted their data. "
            "This can't be undone."
        ),
        "delete_button_yes": "Yes, delete everything",
        "delete_button_no": "No, keep it",
        "delete_done": (
            "Done. Your answers and your name are erased and you've left the program. "
            "Thank you for the part you took. Take good care."
        ),
        "delete_cancelled": "Nothing was deleted.",
        "delete_nothing": "I don't have any data about you, so there's nothing to delete.",
    }
)


def text(key: str, language: str | None = None, /, **values: Any) -> str:
    """The text `key` in `language` (falling back to English), with values filled in."""
    table = TEXTS.get((language or DEFAULT_LANGUAGE).split("-")[0], TEXTS[DEFAULT_LANGUAGE])
    template = table.get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template


def escape(value: object) -> str:
    return html.escape(str(value), quote=False)
