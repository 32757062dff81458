"""The interface speaks Vietnamese by default, English after the switch, and remembers;
names sort the Vietnamese way."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import OpenAs


async def test_vietnamese_by_default_english_after_switch_and_reload(
    open_page: OpenAs, meeting: dict[str, Any]
) -> None:
    page = await open_page()
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.locator("#login-heading")).to_have_text("Đăng nhập")
    await expect(page.locator("label[for=login-username]")).to_have_text("Tên đăng nhập")
    await expect(page.locator("label[for=login-password]")).to_have_text("Mật khẩu")
    # Every visible string is in NFC (precomposed), as Vietnamese text should be.
    assert await page.evaluate("document.body.innerText === document.body.innerText.normalize('NFC')")

    await page.get_by_test_id("language").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#login-heading")).to_have_text("Sign in")
    await expect(page.locator("label[for=login-password]")).to_have_text("Password")

    await page.reload()
    await expect(page.locator("#login-heading")).to_have_text("Sign in")
    await page.locator("#login-username").fill("dbieu1")
    await page.locator("#login-password").fill("wrong password")
    await page.locator("form.login-form button[type=submit]").click()
    # The server's own sentence, behind our lead-in.
    await expect(page.locator(".form-error")).to_have_text(
        "Could not sign in: The user name or password is wrong.")

    await page.get_by_test_id("language").click()
    await expect(page.locator(".form-error")).to_be_hidden()
    await expect(page.locator("#login-heading")).to_have_text("Đăng nhập")
    assert await page.evaluate("localStorage.getItem('phonghop.lang')") == "vi"

    # Names sort in Vietnamese order whatever the interface language: Đ after D.
    order = await page.evaluate("""async () => {
        const { I18n } = await import('/i18n/index.js');
        const i18n = new I18n(localStorage);
        return {
            words: ['Đức', 'Dũng', 'Em', 'Anh', 'Ân', 'Ăn'].sort((a, b) => i18n.compareNames(a, b)),
            people: ['Nguyễn Văn Minh', 'Lê Thị Hoa', 'Trần Đức', 'Phạm Dũng']
                .sort((a, b) => i18n.comparePeople(a, b)),
        };
    }""")
    assert order["words"] == ["Anh", "Ăn", "Ân", "Dũng", "Đức", "Em"]
    # A Vietnamese list orders people by given name (the last word).
    assert order["people"] == ["Phạm Dũng", "Trần Đức", "Lê Thị Hoa", "Nguyễn Văn Minh"]
